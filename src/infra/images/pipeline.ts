import sharp, { type Metadata } from 'sharp';
import { Semaphore } from './semaphore';

// One libvips thread per image: with at most `concurrency` images at a time (2 by default) on this
// 2-core machine, decoding never takes more than two of libuv's four pool threads, which bcrypt,
// fs and DNS share. The operation cache only helps when the same input is processed repeatedly,
// which never happens with uploads, so it would just hold memory.
sharp.concurrency(1);
sharp.cache(false);

/** One output of a preset. `fit: 'cover'` crops to exactly width×height; 'inside' keeps the ratio. */
export interface Variant {
  name: string;
  width: number;
  height?: number;
  fit: 'cover' | 'inside';
}

export type Preset = readonly Variant[];

export const PRESETS = {
  /** 160×160 square, cropped around the centre. */
  avatar: [{ name: 'avatar', width: 160, height: 160, fit: 'cover' }],
  /** 120×120 square. */
  petPhoto: [{ name: 'photo', width: 120, height: 120, fit: 'cover' }],
  /** 1280 px wide and a 320 px wide thumbnail, ratio kept, never enlarged. */
  sitterPhoto: [
    { name: 'photo', width: 1280, fit: 'inside' },
    { name: 'thumb', width: 320, fit: 'inside' },
  ],
  /** Community post photos: 1600 px wide and a 320 px wide thumbnail, ratio kept, never enlarged. */
  postPhoto: [
    { name: 'photo', width: 1600, fit: 'inside' },
    { name: 'thumb', width: 320, fit: 'inside' },
  ],
} as const satisfies Record<string, Preset>;

export interface RenderedImage {
  variant: string;
  body: Buffer;
  contentType: 'image/webp';
  width: number;
  height: number;
}

export interface PipelineOptions {
  /** Decompression-bomb guard: width × height of the input, checked from the header and while decoding. */
  maxInputPixels: number;
  /** Images processed at once; the rest wait in a bounded line. */
  concurrency: number;
  maxWaiting: number;
  /** A decode that takes longer is abandoned (415). */
  timeoutSec: number;
}

const MAX_WEBP_SIDE = 16383;

const DEFAULTS: PipelineOptions = { maxInputPixels: 40_000_000, concurrency: 2, maxWaiting: 32, timeoutSec: 10 };

/** Formats we accept, by what the bytes are (sharp's decoder), never by file name or Content-Type. */
const ALWAYS_ACCEPTED = new Set(['jpeg', 'png', 'webp', 'gif']);

/**
 * Can this sharp build decode HEIC (HEIF with HEVC)? The prebuilt sharp binaries ship libheif with
 * the AV1 codec only (AVIF) — HEVC is patent-encumbered — so the answer there is no, and HEIC
 * uploads get 415. A sharp built against a system libvips with libde265/x265 answers yes. We find
 * out by trying: encode a tiny HEVC image and decode it again. (A build that can decode HEVC but not
 * encode it is refused too; that is the conservative side.)
 */
let heicProbe: Promise<boolean> | null = null;
export function canDecodeHeic(): Promise<boolean> {
  heicProbe ??= (async () => {
    try {
      const heic = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
        .heif({ compression: 'hevc' })
        .toBuffer();
      const meta = await sharp(heic).metadata();
      await sharp(heic).raw().toBuffer();
      return meta.format === 'heif' && meta.compression === 'hevc';
    } catch {
      return false;
    }
  })();
  return heicProbe;
}

/**
 * Why the pipeline refused an input. The adapter only says what happened; the application decides
 * what that means for the caller (the media module maps it to its errors):
 * - `format`: not an image, or a format we do not accept (judged from the header);
 * - `pixels`: more pixels than `maxInputPixels` (a decompression bomb, or just too big);
 * - `undecodable`: the header looked fine but the data could not be decoded (truncated, corrupt, too slow);
 * - `busy`: too many images are already waiting for a slot.
 */
export type ImageRefusalReason = 'format' | 'pixels' | 'undecodable' | 'busy';

export class ImageRefused extends Error {
  constructor(
    readonly reason: ImageRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'ImageRefused';
  }
}

const notAnImage = (what: string) =>
  new ImageRefused('format', `${what}; accepted formats are JPEG, PNG, WebP, GIF and AVIF`);

/**
 * Untrusted bytes → re-encoded WebP variants. sharp decodes on libuv's pool, off the event loop;
 * the semaphore bounds how many images are in flight so a burst of uploads cannot starve the API.
 * Re-encoding drops every metadata block (EXIF with GPS, XMP, IPTC) after `.rotate()` has applied
 * the EXIF orientation to the pixels.
 */
export class ImagePipeline {
  readonly options: PipelineOptions;
  private readonly slots: Semaphore;

  constructor(options: Partial<PipelineOptions> = {}) {
    this.options = { ...DEFAULTS, ...options };
    this.slots = new Semaphore(
      this.options.concurrency,
      this.options.maxWaiting,
      () => new ImageRefused('busy', 'Too many images are being processed; retry shortly'),
    );
    void canDecodeHeic();
  }

  /** Images being processed now (for tests and metrics). */
  get busy(): number {
    return this.slots.inUse;
  }

  async render(input: Buffer, preset: Preset): Promise<RenderedImage[]> {
    return this.slots.run(async () => {
      await this.check(input);
      try {
        const decoded = sharp(input, {
          limitInputPixels: this.options.maxInputPixels,
          failOn: 'error',
          // First frame only: an animated GIF/WebP becomes a still (also bounds the work).
          pages: 1,
        })
          .rotate()
          .timeout({ seconds: this.options.timeoutSec });
        const out: RenderedImage[] = [];
        for (const v of preset) {
          const { data, info } = await decoded
            .clone()
            .resize({
              width: v.width,
              // 'inside' bounds the height too: WebP cannot exceed 16383 px, and a 1000×40000 strip is legal input.
              height: v.height ?? (v.fit === 'inside' ? MAX_WEBP_SIDE : undefined),
              fit: v.fit,
              position: 'centre',
              withoutEnlargement: v.fit === 'inside',
            })
            .webp({ quality: 82, effort: 4 })
            .toBuffer({ resolveWithObject: true });
          out.push({ variant: v.name, body: data, contentType: 'image/webp', width: info.width, height: info.height });
        }
        return out;
      } catch {
        // The header passed check(), pixel count included, so whatever sharp says here (truncated
        // data under failOn, a timeout, the decode-time pixel guard of a header that lied) means
        // the bytes are not the image they claim to be.
        throw new ImageRefused(
          'undecodable',
          'The file could not be decoded as an image; accepted formats are JPEG, PNG, WebP, GIF and AVIF',
        );
      }
    });
  }

  /** Header-only checks, before any pixel is decoded. */
  private async check(input: Buffer): Promise<void> {
    let meta: Metadata;
    try {
      // Metadata reads headers only; the pixel limit is applied again while decoding.
      meta = await sharp(input, { limitInputPixels: false }).metadata();
    } catch {
      throw notAnImage('The file is not an image');
    }
    const format = String(meta.format);
    const accepted =
      ALWAYS_ACCEPTED.has(format) ||
      (format === 'heif' && meta.compression === 'av1') ||
      (format === 'heif' && meta.compression === 'hevc' && (await canDecodeHeic()));
    if (!accepted) {
      const name = format === 'heif' ? `HEIF/${meta.compression ?? 'unknown'}` : format.toUpperCase();
      throw notAnImage(`${name} images are not accepted`);
    }
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (!meta.width || !meta.height) throw notAnImage('The image has no dimensions');
    if (pixels > this.options.maxInputPixels) throw this.tooManyPixels(meta.width, meta.height);
  }

  private tooManyPixels(width: number, height: number) {
    const mp = Math.floor(this.options.maxInputPixels / 1_000_000);
    return new ImageRefused(
      'pixels',
      `The image has too many pixels (${width}×${height}); at most ${mp} megapixels are accepted`,
    );
  }
}
