import http from 'node:http';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import sharp from 'sharp';

/** Test images made on the fly (no binary fixtures in the repository). */

/** A gradient, so encoders do real work and crops are visible. */
async function base(width: number, height: number) {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = 128;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

export type Format = 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';

export async function image(format: Format, width = 400, height = 300): Promise<Buffer> {
  const img = await base(width, height);
  switch (format) {
    case 'jpeg':
      return img.jpeg().toBuffer();
    case 'png':
      return img.png().toBuffer();
    case 'webp':
      return img.webp().toBuffer();
    case 'gif':
      return img.gif().toBuffer();
    case 'avif':
      return img.avif({ effort: 0 }).toBuffer();
    case 'tiff':
      return img.tiff().toBuffer();
  }
}

/**
 * A JPEG that carries EXIF with GPS coordinates and Orientation 6 ("rotate 90° clockwise to view"):
 * stored 400×200, it should come out as a portrait once oriented.
 */
export async function jpegWithExif(): Promise<Buffer> {
  const img = await base(400, 200);
  return img
    .jpeg()
    .withExif({
      IFD0: { Make: 'PawCam', Model: 'Secret Model 9', Copyright: 'owner home' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '37/1 33/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '126/1 58/1 0/1' },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

export const svg = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><script>alert(1)</script><rect width="200" height="200" fill="red"/></svg>',
);

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * A decompression bomb: a few kilobytes of valid PNG whose header declares width×height pixels
 * (20000×20000 = 400 MP by default) of one grey colour, compressed to almost nothing.
 */
export function pngBomb(width = 20000, height = 20000, rows = 64): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  // Only the first rows are present (a decoder gives up or fails later); enough to look real.
  const raw = Buffer.alloc(rows * (width + 1), 0x80);
  for (let r = 0; r < rows; r++) raw[r * (width + 1)] = 0; // filter byte: none
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
}

/**
 * Sends a multipart upload with plain `http`, optionally chunked (no Content-Length), so tests can
 * reach multer's own size limit and see exactly what a client reads back (never a reset).
 */
export function rawUpload(
  url: string,
  opts: {
    method?: string;
    token: string;
    field?: string;
    filename?: string;
    contentType?: string;
    body: Buffer;
    chunked?: boolean;
  },
): Promise<RawResponse> {
  const boundary = `----pawmate${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${opts.field ?? 'image'}"; filename="${opts.filename ?? 'photo.jpg'}"\r\n` +
      `Content-Type: ${opts.contentType ?? 'image/jpeg'}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const payload = Buffer.concat([head, opts.body, tail]);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: opts.method ?? 'PUT',
      headers: {
        Authorization: `Bearer ${opts.token}`,
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        ...(opts.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(payload.length) }),
      },
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8');
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    // Write in 64 KiB pieces, as a real client streams a file.
    for (let i = 0; i < payload.length; i += 65536) req.write(payload.subarray(i, i + 65536));
    req.end();
  });
}
