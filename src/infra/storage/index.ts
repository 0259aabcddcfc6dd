import type { Config } from '../../config';
import { LocalStorage } from './local';
import { S3Storage, type S3StorageOptions } from './s3';
import type { Storage } from './storage';

export type { Storage } from './storage';
export { LocalStorage, serveUploads } from './local';
export { S3Storage } from './s3';

/** The storage driver the configuration names (STORAGE_DRIVER, UPLOAD_DIR, S3_*). */
export function createStorage(
  config: Pick<Config, 'storageDriver' | 'uploadDir' | 'publicUrl' | 's3'>,
  s3Credentials?: S3StorageOptions['credentials'],
): Storage {
  if (config.storageDriver === 's3') {
    // config.ts already requires S3_BUCKET with STORAGE_DRIVER=s3; this guards hand-built configs.
    if (!config.s3.bucket) throw new Error('S3_BUCKET is required when STORAGE_DRIVER is s3');
    return new S3Storage({
      bucket: config.s3.bucket,
      region: config.s3.region,
      endpoint: config.s3.endpoint,
      credentials: s3Credentials,
    });
  }
  return new LocalStorage(config.uploadDir, config.publicUrl);
}

/** Releases the driver's sockets (S3 keeps a pool); a no-op for local files. */
export function closeStorage(storage: Storage | undefined): void {
  if (storage instanceof S3Storage) storage.close();
}
