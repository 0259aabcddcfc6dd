import type { Sequelize, Transaction } from 'sequelize';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import type { Logger } from '../../infra/logger';
import type { Outbox, OutboxHandler } from '../../infra/outbox';
import { isValidKey, newKey } from '../../infra/storage/keys';
import type { Storage } from '../../infra/storage/storage';
import { ImageRefused, PRESETS, type ImagePipeline, type Preset } from '../../infra/images/pipeline';
import {
  AppError,
  PayloadTooLarge,
  RateLimited,
  Unauthenticated,
  Unavailable,
  UnsupportedMediaType,
} from '../../errors';
import type { UsersService } from '../users/users.service';

/** Outbox topic: `{ keys: string[] }` to delete from storage (idempotent: a missing key is fine). */
export const TOPIC_STORAGE_DELETE = 'storage.delete';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_STORAGE_DELETE]: { keys: string[] };
  }
}

/**
 * One stored variant. Rows keep `key`, never a URL: answers turn keys into URLs as they are written
 * (src/http/image-urls.ts), so a new PUBLIC_URL, bucket or CDN base applies to old images too.
 */
export interface StoredImage {
  variant: string;
  key: string;
  width: number;
  height: number;
  bytes: number;
}

export interface UploadLimits {
  /** Shared by every image route: avatars, pet photos and sitter photos draw on one budget per user. */
  limiter: RateLimiterRedis;
  /** Uploads buffered at once on this instance (each may hold 10 MB of memory); past it, 503. */
  maxInFlight: number;
}

export interface MediaDeps {
  sequelize: Sequelize;
  users: UsersService;
  pipeline: ImagePipeline;
  /** Absent when the app was built without a storage driver: uploads are then refused with 503. */
  storage?: Storage;
  limits: UploadLimits;
  outbox: Outbox;
  logger: Logger;
}

/**
 * The one upload policy of the app, published as `services.media` and used by every module that takes
 * pictures (pets, sitters, and this module's own avatars):
 * - `admitUpload` (via `imageUpload(media)` in http/upload.ts): the per-user limit and this
 *   instance's buffering budget, checked before the body is read;
 * - `replace(image, preset, folder, commit)`: render (the sharp adapter), upload every variant under
 *   fresh random keys, then run `commit`. If it throws, the new objects are deleted again and the
 *   error propagates, so a failed upload leaves neither a row change nor an object;
 * - `deleteAfterCommit(t, urls)`: old objects are deleted through the outbox (`storage.delete`, carried
 *   out by this module alone), only if `t` commits, and by retry if storage is briefly down.
 */
export class MediaService {
  readonly outboxHandlers: Record<string, OutboxHandler>;
  private inFlight = 0;

  constructor(private readonly d: MediaDeps) {
    this.outboxHandlers = {
      [TOPIC_STORAGE_DELETE]: async (payload: { keys: string[] }) => {
        for (const key of payload.keys) await this.requireStorage().delete(key);
      },
    };
  }

  /** False without a storage driver (routes that only make sense with one may then be left out). */
  get storesImages(): boolean {
    return this.d.storage !== undefined;
  }

  /** Uploads admitted and not yet answered on this instance (a metric). */
  get buffering(): number {
    return this.inFlight;
  }

  /** Images being decoded and re-encoded now (a metric). */
  get processing(): number {
    return this.d.pipeline.busy;
  }

  async admitUpload(callerKey: string): Promise<() => void> {
    try {
      await this.d.limits.limiter.consume(callerKey);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw RateLimited(err.msBeforeNext / 1000);
      throw err; // Redis unreachable → 503 via toAppError
    }
    if (this.inFlight >= this.d.limits.maxInFlight) throw Unavailable('Too many uploads in progress; retry shortly');
    this.inFlight++;
    let released = false;
    return () => {
      if (!released) this.inFlight--;
      released = true;
    };
  }

  /** store → commit (failure: discard the new objects); scheduled deletions go out with the commit. */
  async replace<T>(
    input: Buffer,
    preset: Preset,
    folder: string,
    commit: (stored: StoredImage[]) => Promise<T>,
  ): Promise<T> {
    const stored = await this.store(input, preset, folder);
    try {
      return await commit(stored);
    } catch (err) {
      await this.discard(stored);
      throw err;
    }
  }

  /**
   * Schedules the deletion of these stored images (keys, or URLs of this storage kept from before
   * keys were stored), in the caller's transaction: they are deleted only if it commits. Values this
   * storage did not produce (foreign URLs, null) are ignored.
   */
  async deleteAfterCommit(t: Transaction, stored: Array<string | null | undefined>): Promise<void> {
    const storage = this.d.storage;
    if (!storage) return;
    const keyOf = (v: string) => (isValidKey(v) ? v : storage.keyFromUrl(v));
    const keys = stored.map((v) => (v ? keyOf(v) : null)).filter((k): k is string => k !== null);
    if (keys.length) await this.d.outbox.add(t, TOPIC_STORAGE_DELETE, { keys });
  }

  /** Stores a 160×160 WebP avatar; the previous one (if it is ours) is deleted after the commit. */
  async setAvatar(userId: number, image: Buffer): Promise<{ avatarUrl: string }> {
    return this.replace(image, PRESETS.avatar, `avatars/${userId}`, ([avatar]) =>
      inTransaction(this.d.sequelize, async (t) => {
        // The row lock orders two concurrent avatar uploads: each deletes exactly the one it replaced.
        const user = await this.d.users.findById(userId, t, true);
        if (!user) throw Unauthenticated('This account no longer exists');
        await this.d.users.setAvatarUrl(userId, avatar.key, t);
        await this.deleteAfterCommit(t, [user.avatarUrl]);
        return { avatarUrl: avatar.key };
      }),
    );
  }

  /** Renders and uploads every variant; on any failure nothing stays in storage. */
  private async store(input: Buffer, preset: Preset, folder: string): Promise<StoredImage[]> {
    const storage = this.requireStorage();
    const rendered = await this.d.pipeline.render(input, preset).catch((err: unknown) => {
      throw err instanceof ImageRefused ? refusalError(err) : err;
    });
    const stored: StoredImage[] = [];
    try {
      for (const r of rendered) {
        const key = newKey(folder, 'webp', rendered.length > 1 ? r.variant : undefined);
        await storage.put(key, r.body, r.contentType);
        stored.push({ variant: r.variant, key, width: r.width, height: r.height, bytes: r.body.length });
      }
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message, driver: storage.driver }, 'image upload to storage failed');
      await this.discard(stored);
      throw Unavailable('Image storage is unavailable; retry shortly');
    }
    return stored;
  }

  /** Deletes objects now (undoing a store whose database write failed). Never throws; logs leftovers. */
  private async discard(images: StoredImage[]): Promise<void> {
    for (const { key } of images) {
      try {
        await this.requireStorage().delete(key);
      } catch (err) {
        this.d.logger.warn({ err: (err as Error).message, key }, 'could not delete an image; it is orphaned');
      }
    }
  }

  private requireStorage(): Storage {
    if (!this.d.storage) throw Unavailable('Image uploads are not configured on this server');
    return this.d.storage;
  }
}

/** What the image adapter's refusals mean to a client (statuses are chosen in http/problem.ts). */
function refusalError(err: ImageRefused): AppError {
  switch (err.reason) {
    case 'format':
    case 'undecodable':
      return UnsupportedMediaType(err.message);
    case 'pixels':
      return PayloadTooLarge(err.message);
    case 'busy':
      return Unavailable(err.message);
  }
}
