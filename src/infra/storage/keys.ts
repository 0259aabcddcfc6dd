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
