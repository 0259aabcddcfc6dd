/**
 * Where uploaded images live. Two drivers: `local` (files under UPLOAD_DIR, served at /uploads/...)
 * and `s3` (AWS SDK v3). Keys are opaque, e.g. `avatars/12/3f9c….webp`.
 */
export interface Storage {
  readonly driver: 'local' | 's3';
  /** Stores the bytes under `key` and returns the public URL clients will use. */
  put(key: string, body: Buffer, contentType: string): Promise<string>;
  /** Deletes the object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** The public URL of a key (the same string `put` returned). */
  urlFor(key: string): string;
  /** The key behind a URL this storage produced, or null for a foreign URL. */
  keyFromUrl(url: string): string | null;
}
