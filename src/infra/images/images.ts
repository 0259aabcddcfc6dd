/**
 * Images: the reusable upload pipeline for every module that takes pictures (avatars, pets, sitter
 * photos). How a module uses it:
 *
 *   import { imagesFor, PRESETS } from '../../infra/images/images';
 *
 *   const images = imagesFor(ctx);                            // one per app instance; null when the app has no storage
 *   route: { …, upload: { field: 'image' }, before: images?.upload ?? imageUpload() }
 *     // multipart field `image`, ≤ 10 MB (413 problem), 400 naming body.image when missing, 60 uploads
 *     // per user per hour shared by every image route (429), 16 buffered uploads per instance (503)
 *   outboxHandlers: { ...images?.outboxHandlers }             // carries out the deletions scheduled below
 *
 *   // in a handler, after imageUpload(): the bytes are `req.file.buffer` (see `uploadedFile(req)`)
 *   const photo = await images.replace(buffer, PRESETS.sitterPhoto, `sitters/${sitterId}`, (stored) =>
 *     inTransaction(sequelize, async (t) => {
 *       // stored: [{ variant: 'photo', url, key, width, height }, { variant: 'thumb', … }] — already uploaded
 *       …write stored[0].url / stored[1].url…
 *       await images.deleteAfterCommit(t, [oldUrl, oldThumbUrl]);   // old objects go only if this commits
 *       return row;
 *     }));
 *
 * `replace` renders (415 for anything but JPEG/PNG/WebP/GIF/AVIF — HEIC only where sharp can decode
 * it —, 413 past 40 MP, 503 when too many images wait), uploads every variant under fresh random keys,
 * then runs `commit`. If `commit` throws, the new objects are deleted again and the error propagates:
 * a failed upload leaves neither a row change nor an object. If it succeeds, the outbox rows written
 * by `deleteAfterCommit` are nudged, so the old objects disappear right after the commit (and
 * certainly, by retry, if storage is briefly down). Presets: `avatar` 160×160, `petPhoto` 120×120
 * (cover crop), `sitterPhoto` 1280 px wide + 320 px `thumb` (never enlarged). All outputs are WebP.
 * Lower-level pieces: `render` (pipeline only), `store` (render + upload), `discard` (delete now).
 */
import type { RequestHandler } from 'express';
import type { Sequelize, Transaction } from 'sequelize';
import { Unavailable } from '../../errors';
// eslint-disable-next-line no-restricted-imports -- boundary fixed in the following commits
import { imageUpload, uploadLimiter } from '../../http/upload';
// eslint-disable-next-line no-restricted-imports -- boundary fixed in the following commits
import type { ModuleContext } from '../../modules/module';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { addToOutbox, type OutboxDispatcher, type OutboxHandler } from '../outbox';
import { newKey } from '../storage/keys';
import type { Storage } from '../storage/storage';
import { ImagePipeline, type Preset, type RenderedImage } from './pipeline';

export { PRESETS, ImagePipeline, canDecodeHeic, type Preset, type Variant, type RenderedImage } from './pipeline';

/** Outbox topic: `{ keys: string[] }` to delete from storage (idempotent: a missing key is fine). */
export const TOPIC_STORAGE_DELETE = 'storage.delete';

export interface StoredImage {
  variant: string;
  key: string;
  url: string;
  width: number;
  height: number;
  bytes: number;
}

export class ImageService {
  readonly outboxHandlers: Record<string, OutboxHandler>;
  /** Multipart middleware for image routes, shared so its limits hold per instance (set by `imagesFor`). */
  upload: RequestHandler[] = imageUpload();

  constructor(
    readonly storage: Storage,
    readonly pipeline: ImagePipeline,
    private readonly sequelize: Sequelize,
    private readonly clock: Clock,
    private readonly outbox: OutboxDispatcher,
    private readonly logger: Logger,
  ) {
    this.outboxHandlers = {
      [TOPIC_STORAGE_DELETE]: async (payload: { keys: string[] }) => {
        for (const key of payload.keys) await this.storage.delete(key);
      },
    };
  }

  render(input: Buffer, preset: Preset): Promise<RenderedImage[]> {
    return this.pipeline.render(input, preset);
  }

  /** Renders and uploads every variant; on any failure nothing stays in storage. */
  async store(input: Buffer, preset: Preset, folder: string): Promise<StoredImage[]> {
    const rendered = await this.render(input, preset);
    const stored: StoredImage[] = [];
    try {
      for (const r of rendered) {
        const key = newKey(folder, 'webp', rendered.length > 1 ? r.variant : undefined);
        const url = await this.storage.put(key, r.body, r.contentType);
        stored.push({ variant: r.variant, key, url, width: r.width, height: r.height, bytes: r.body.length });
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, driver: this.storage.driver }, 'image upload to storage failed');
      await this.discard(stored);
      throw Unavailable('Image storage is unavailable; retry shortly');
    }
    return stored;
  }

  /** Deletes objects now (undoing a store whose database write failed). Never throws; logs leftovers. */
  async discard(images: Array<StoredImage | string>): Promise<void> {
    for (const img of images) {
      const key = typeof img === 'string' ? img : img.key;
      try {
        await this.storage.delete(key);
      } catch (err) {
        this.logger.warn({ err: (err as Error).message, key }, 'could not delete an image; it is orphaned');
      }
    }
  }

  /**
   * Schedules the deletion of objects behind these URLs, in the caller's transaction: they are
   * deleted only if it commits. URLs this storage did not produce (foreign, null) are ignored.
   */
  async deleteAfterCommit(t: Transaction, urls: Array<string | null | undefined>): Promise<void> {
    const keys = urls.map((u) => (u ? this.storage.keyFromUrl(u) : null)).filter((k): k is string => k !== null);
    if (keys.length) await addToOutbox(this.sequelize, t, this.clock, TOPIC_STORAGE_DELETE, { keys });
  }

  /** store → commit → (failure: discard the new objects) → nudge the scheduled deletions. */
  async replace<T>(
    input: Buffer,
    preset: Preset,
    folder: string,
    commit: (stored: StoredImage[]) => Promise<T>,
  ): Promise<T> {
    const stored = await this.store(input, preset, folder);
    let result: T;
    try {
      result = await commit(stored);
    } catch (err) {
      await this.discard(stored);
      throw err;
    }
    this.outbox.nudge();
    return result;
  }
}

const perApp = new WeakMap<ModuleContext, ImageService>();

/**
 * The image service of one app instance (shared by its modules, so the concurrency bound is per
 * instance, not per module), or null when the app was built without a storage driver.
 */
export function imagesFor(ctx: ModuleContext): ImageService | null {
  if (!ctx.storage) return null;
  let images = perApp.get(ctx);
  if (!images) {
    const service = new ImageService(
      ctx.storage,
      new ImagePipeline(),
      ctx.sequelize,
      ctx.clock,
      ctx.outbox,
      ctx.logger,
    );
    service.upload = imageUpload({ limiter: uploadLimiter(ctx.redis, ctx.config.redisPrefix) });
    ctx.metrics.gauge(
      'pawmate_images_processing',
      'Uploaded images being decoded and re-encoded now',
      () => service.pipeline.busy,
    );
    perApp.set(ctx, service);
    images = service;
  }
  return images;
}
