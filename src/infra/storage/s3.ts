import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Storage } from './storage';
import { KeyUrls, assertValidKey } from './keys';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint (MinIO, s3rver, R2 …); unset means AWS itself. */
  endpoint?: string | null;
  /** Explicit credentials (tests); unset means the SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Objects in one bucket through AWS SDK v3. Images are uploaded with the SDK *after* sharp has
 * re-encoded them; multer-s3 does not fit, because it streams the raw client bytes straight to S3
 * before any resize or format check could run, and the original (EXIF/GPS included) would be stored.
 */
export class S3Storage implements Storage {
  readonly driver = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly base: string;
  private readonly urls: KeyUrls;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    const endpoint = options.endpoint?.replace(/\/+$/, '') || null;
    this.client = new S3Client({
      region: options.region,
      ...(endpoint ? { endpoint } : {}),
      // Path-style (`endpoint/bucket/key`) works with every S3-compatible server, no wildcard DNS needed.
      forcePathStyle: true,
      // The SDK's default CRC32 trailers are not understood by most S3-compatible servers (s3rver
      // included); only send and check checksums where an operation requires them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.credentials ? { credentials: options.credentials } : {}),
      maxAttempts: 2,
      // An outage must fail an upload within seconds (→ 503), not hold the request open.
      requestHandler: { connectionTimeout: 3000, requestTimeout: 15_000, throwOnRequestTimeout: true },
    });
    this.base = endpoint ? `${endpoint}/${this.bucket}/` : `https://${this.bucket}.s3.${options.region}.amazonaws.com/`;
    this.urls = new KeyUrls(this.base);
  }

  async put(key: string, body: Buffer, contentType: string): Promise<string> {
    assertValidKey(key);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentLength: body.length,
        // Keys are never rewritten (a replacement gets a new key), so caches may keep objects forever.
        CacheControl: 'public, max-age=31536000, immutable',
      }),
    );
    return this.urlFor(key);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    // S3 answers 204 for a missing key too, which is the idempotence the interface promises.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  urlFor(key: string): string {
    return this.urls.urlFor(key);
  }

  keyFromUrl(url: string): string | null {
    return this.urls.keyFromUrl(url);
  }

  close(): void {
    this.client.destroy();
  }
}
