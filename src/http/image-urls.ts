import { isValidKey } from '../infra/storage/keys';
import type { Storage } from '../infra/storage/storage';

/**
 * Image fields are stored as storage keys (`avatars/12/3f9c….webp`), never as absolute URLs, and
 * turned into URLs when a response is written. A changed PUBLIC_URL, bucket or CDN base (MEDIA_URL)
 * therefore applies to every image, old ones included.
 *
 * The rule is by field name: a string under a property named `url` or ending in `Url` (`avatarUrl`,
 * `photoUrl`, `thumbnailUrl`, …) that is a key this app could have generated becomes
 * `<base><key>`. Anything else (an absolute URL from a provider, null, a non-image `*Url` like a
 * redirect) is left as it is: the key pattern (`folder/…/<32 hex>.<ext>`) does not match those.
 * Modules therefore store `StoredImage.key` and present it unchanged.
 */
export function imageUrlOf(storage: Storage | undefined, mediaUrl: string | null): (key: string) => string | null {
  if (mediaUrl) {
    const base = mediaUrl.endsWith('/') ? mediaUrl : `${mediaUrl}/`;
    return (key) => base + key;
  }
  return storage ? (key) => storage.urlFor(key) : () => null;
}

const isImageField = (name: string) => name === 'url' || name.endsWith('Url');

/** The JSON replacer Express uses for every `res.json` of the app (`app.set('json replacer', …)`). */
export function imageUrlReplacer(urlOf: (key: string) => string | null) {
  return function replace(this: unknown, name: string, value: unknown): unknown {
    if (typeof value !== 'string' || !isImageField(name) || !isValidKey(value)) return value;
    return urlOf(value) ?? value;
  };
}
