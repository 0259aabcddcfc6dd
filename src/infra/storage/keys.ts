import { randomBytes } from 'node:crypto';

/**
 * Object keys are generated here, never taken from a client: `<folder>/<32 hex>.<ext>`. The random
 * part makes URLs unguessable and unique, so a replaced image can be cached forever ("immutable").
 */
const KEY = /^[a-z0-9][a-z0-9-]{0,39}(\/[a-z0-9][a-z0-9-]{0,39})*\/[a-f0-9]{32}(-[a-z0-9]{1,20})?\.[a-z0-9]{2,5}$/;
const FOLDER = /^[a-z0-9][a-z0-9-]{0,39}(\/[a-z0-9][a-z0-9-]{0,39})*$/;

export function newKey(folder: string, ext: string, suffix?: string): string {
  if (!FOLDER.test(folder)) throw new Error(`invalid storage folder: ${folder}`);
  const key = `${folder}/${randomBytes(16).toString('hex')}${suffix ? `-${suffix}` : ''}.${ext}`;
  if (!KEY.test(key)) throw new Error(`invalid storage key: ${key}`);
  return key;
}

/** True for keys this code could have generated: no `..`, no absolute paths, no odd characters. */
export function isValidKey(key: string): boolean {
  return KEY.test(key);
}

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new Error(`invalid storage key: ${JSON.stringify(key).slice(0, 120)}`);
}

/** Public URLs of keys under one base (`…/uploads/` or the bucket's URL), both ways. */
export class KeyUrls {
  constructor(private readonly base: string) {}

  urlFor(key: string): string {
    assertValidKey(key);
    return this.base + key;
  }

  /** The key behind a URL under this base, or null for a foreign or malformed URL. */
  keyFromUrl(url: string): string | null {
    if (!url.startsWith(this.base)) return null;
    const key = url.slice(this.base.length);
    return isValidKey(key) ? key : null;
  }
}
