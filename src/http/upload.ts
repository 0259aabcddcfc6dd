import type { Request, RequestHandler } from 'express';
import multer from 'multer';
import { PayloadTooLarge, ValidationFailed } from '../errors';

export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Room for the multipart framing around the one file (boundaries, part headers). */
const MULTIPART_OVERHEAD = 64 * 1024;

/**
 * The upload policy an image route answers to (the media module's service): whether this caller may
 * upload now (per-user limit) and whether this instance may buffer one more upload (memory budget).
 * `admitUpload` throws the refusal (429, 503) or returns the function that gives the slot back.
 */
export interface UploadAdmission {
  admitUpload(callerKey: string): Promise<() => void>;
}

export interface ImageUploadOptions {
  field?: string;
  maxBytes?: number;
}

export interface FileUploadOptions extends ImageUploadOptions {
  /** What the file is, for the 400 when it is missing ("one audio file"). */
  noun?: string;
}

/**
 * Multipart parsing for one image in field `image` (memory storage: the bytes go to sharp, never to
 * disk as they came), admitted by `policy` before a byte of the body is read. Refusals are real
 * answers, never a dropped connection:
 * - a Content-Length over the limit is refused before reading (413); `Connection: close` keeps that
 *   socket from carrying the next request, and the server reads and discards the rest of the body
 *   (within a bound) before closing, so the client reads the problem instead of a reset (http/linger.ts);
 * - without a Content-Length (chunked), multer stops at the limit (LIMIT_FILE_SIZE → 413 in
 *   http/problem.ts) and drains the rest itself;
 * - a second file, an unexpected file field or too many fields → 400 from multer's LIMIT_* codes;
 * - a malformed multipart body → 400; no file at all → 400 naming `body.image`.
 * The route's handler reads the bytes with `uploadedFile(req)`.
 */
export function imageUpload(policy: UploadAdmission, options: ImageUploadOptions = {}): RequestHandler[] {
  return fileUpload(policy, { field: 'image', noun: 'image file', ...options });
}

/** The same parsing, limits and readable refusals for one file of any kind (voice messages: `audio`). */
export function fileUpload(policy: UploadAdmission, options: FileUploadOptions = {}): RequestHandler[] {
  const field = options.field ?? 'file';
  const noun = options.noun ?? 'file';
  const maxBytes = options.maxBytes ?? MAX_UPLOAD_BYTES;
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxBytes, files: 1, fields: 5, fieldSize: 1024, fieldNameSize: 100, parts: 6, headerPairs: 20 },
  }).single(field);

  const tooLarge = () => PayloadTooLarge(`The upload exceeds ${Math.round(maxBytes / 1024 / 1024)} MB`);

  const guard: RequestHandler = async (req, res, next) => {
    const declared = Number(req.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes + MULTIPART_OVERHEAD) {
      res.setHeader('Connection', 'close');
      throw tooLarge();
    }
    let release: () => void;
    try {
      release = await policy.admitUpload(String(res.locals.user?.id ?? req.ip ?? 'unknown'));
    } catch (err) {
      // Refused before reading: the unread body must not be taken for the next request.
      res.setHeader('Connection', 'close');
      throw err;
    }
    // 'close' fires once per response, answered or aborted: the buffer is released by then. A client
    // that hung up while we waited for the policy already fired it, so its slot goes back at once.
    if (res.closed) release();
    else res.once('close', release);
    next();
  };

  const receive: RequestHandler = (req, res, next) => {
    parse(req, res, (err: unknown) => {
      if (!err) return next();
      if (err instanceof multer.MulterError) {
        if (err.code === 'LIMIT_FILE_SIZE') res.setHeader('Connection', 'close');
        return next(err);
      }
      // busboy: truncated body, bad boundary, "Unexpected end of form" … the client's fault.
      next(
        ValidationFailed('The multipart body is malformed', [
          { path: 'body', message: String((err as Error).message ?? 'malformed multipart body') },
        ]),
      );
    });
  };

  const requireFile: RequestHandler = (req, _res, next) => {
    const file = (req as Request & { file?: Express.Multer.File }).file;
    if (!file || file.fieldname !== field || !file.buffer?.length) {
      const message = req.is('multipart/form-data')
        ? `${field} is required: send one ${noun} in the multipart field "${field}"`
        : `${field} is required: send multipart/form-data with one ${noun} in the field "${field}"`;
      throw ValidationFailed(`Invalid request: body.${field} is required`, [{ path: `body.${field}`, message }]);
    }
    next();
  };

  return [guard, receive, requireFile];
}

/** The bytes `imageUpload` / `fileUpload` received (they guarantee there are some). */
export function uploadedFile(req: Request): Buffer {
  const file = (req as Request & { file?: Express.Multer.File }).file;
  if (!file)
    throw ValidationFailed('Invalid request: body.file is required', [
      { path: 'body.file', message: 'file is required' },
    ]);
  return file.buffer;
}
