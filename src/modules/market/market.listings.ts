import type { Transaction } from 'sequelize';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import type { RebuildProgress } from '../../infra/geo';
import { PRESETS } from '../../infra/images/pipeline';
import { Conflict, NotFound, Unavailable } from '../../errors';
import { searchDocument } from '../search-text';
import type { ListingRow, ListingWrite, MarketRepository } from './market.repository';
import { consumePoint } from '../../http/rate-limit';
import { requireSeller, requireVisible, type MarketDeps } from './market.deps';
import { toListing, type Listing, type Photo } from './market.presenter';
import { MAX_ON_SALE, MAX_PHOTOS, type CreateListingInput, type UpdateListingInput } from './market.schemas';

/** Outbox topic: a listing's point or index membership changed (its state and version ride along). */
export const TOPIC_GEO_LISTING = 'geo.listing';
/** Outbox topic: a price drop to fan out to those who favourited the listing. */
export const TOPIC_PRICE_DROP = 'market.price_drop';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_GEO_LISTING]: GeoListingChange;
    [TOPIC_PRICE_DROP]: { dropId: number };
  }
}

export interface GeoListingChange {
  listingId: number;
  version: number;
  point: { lat: number; lng: number } | null;
}

const tooManyPhotos = () => Conflict(`A listing may have at most ${MAX_PHOTOS} photos; delete one first`);
const soldIsFinal = () => Conflict('A sold listing cannot be edited');

/** Listings: create, read, edit, delete, photos, and the geo index. */
export class ListingsService {
  constructor(
    private readonly d: MarketDeps,
    private readonly limiter: RateLimiterRedis,
  ) {}

  private get repo(): MarketRepository {
    return this.d.repo;
  }

  async create(userId: number, input: CreateListingInput): Promise<Listing> {
    await consumePoint(this.limiter, userId);
    const data = writeOf(input);
    const { id, change } = await inTransaction(this.d.sequelize, async (t) => {
      if (!(await this.d.users.findById(userId, t))) throw NotFound('User');
      const now = this.d.clock.now();
      await this.repo.lockSeller(userId, now, t);
      if ((await this.repo.countOnSale(userId, t)) >= MAX_ON_SALE)
        throw Conflict(`A seller may have at most ${MAX_ON_SALE} listings on sale; mark one sold or delete one first`);
      const id = await this.repo.insertListing(userId, data, now, t);
      return { id, change: await this.recordGeo(id, t) };
    });
    await this.afterGeo(change);
    return this.get(userId, id);
  }

  async get(viewerId: number, id: number): Promise<Listing> {
    const row = await requireVisible(this.d, await this.repo.findListing(id), viewerId);
    return (await this.present(viewerId, [row]))[0];
  }

  /**
   * The seller edits (others who see it: 403; sold: 409). A lower price writes a price drop whose
   * notifications go out in batches from the outbox, never in this request.
   */
  async update(userId: number, id: number, changes: UpdateListingInput): Promise<Listing> {
    const change = await inTransaction(this.d.sequelize, async (t) => {
      const l = await requireSeller(this.d, await this.repo.lockListing(id, t), userId, 'edit', t);
      if (l.status === 'sold') throw soldIsFinal();
      const next: CreateListingInput = {
        title: changes.title ?? l.title,
        description: changes.description ?? l.description,
        category: changes.category ?? l.category,
        price: changes.price ?? l.price,
        location: changes.location ?? { lat: l.lat, lng: l.lng },
        address: changes.address ?? l.address,
      };
      const data = writeOf(next);
      // Compared as stored (DECIMAL(9,6)), so resending the same point is no move.
      const moved = round6(data.lat) !== round6(l.lat) || round6(data.lng) !== round6(l.lng);
      const now = this.d.clock.now();
      await this.repo.updateListing(id, data, moved, now, t);
      if (data.price < l.price && l.favoriteCount > 0) {
        const dropId = await this.repo.insertPriceDrop(id, l.price, data.price, now, t);
        await this.d.outbox.add(t, TOPIC_PRICE_DROP, { dropId });
      }
      return moved ? this.recordGeo(id, t) : null;
    });
    await this.afterGeo(change);
    return this.get(userId, id);
  }

  /**
   * The seller deletes: the listing leaves every list and answers 404, except that a sold one stays
   * readable by its seller and buyer (with its reviews and trade chat), photos included.
   */
  async delete(userId: number, id: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      await requireSeller(this.d, await this.repo.lockListing(id, t), userId, 'delete', t);
      await this.removeInTx(id, t);
    });
  }

  /** Deletes inside the caller's transaction (the seller, an operator, account deletion). */
  async removeInTx(id: number, t: Transaction): Promise<void> {
    const l = await this.repo.lockListing(id, t);
    if (!l || l.deletedAt) return;
    await this.repo.softDelete(id, this.d.clock.now(), t);
    if (l.status !== 'sold') {
      const photos = await this.repo.deleteAllPhotos(id, t);
      if (photos.length)
        await this.d.media.deleteAfterCommit(
          t,
          photos.flatMap((p) => [p.url, p.thumbnailUrl]),
        );
    }
    await this.recordGeo(id, t);
  }

  /** Reports hide (or show again) a listing; the geo index follows through the outbox. */
  async setHiddenInTx(id: number, hidden: boolean, t: Transaction): Promise<void> {
    const l = await this.repo.lockListing(id, t);
    if (!l || l.deletedAt) return;
    await this.repo.setHidden(id, hidden, this.d.clock.now(), t);
    await this.recordGeo(id, t);
  }

  // --- photos ------------------------------------------------------------------------------------

  /** Adds a photo (seller only, ≤ 10, not once sold) through the one upload pipeline. */
  async addPhoto(userId: number, listingId: number, image: Buffer): Promise<Photo> {
    if (!this.d.media.storesImages) throw Unavailable('Image uploads are not configured on this server');
    // Checked before the expensive render, and again under the lock (two uploads at once).
    const before = await requireSeller(this.d, await this.repo.findListing(listingId), userId, 'add photos to');
    if (before.status === 'sold') throw soldIsFinal();
    if (before.photoCount >= MAX_PHOTOS) throw tooManyPhotos();
    return this.d.media.replace(image, PRESETS.postPhoto, `market/${listingId}`, (stored) =>
      inTransaction(this.d.sequelize, async (t) => {
        const l = await requireSeller(this.d, await this.repo.lockListing(listingId, t), userId, 'add photos to', t);
        if (l.status === 'sold') throw soldIsFinal();
        if (l.photoCount >= MAX_PHOTOS) throw tooManyPhotos();
        const photo = stored.find((s) => s.variant === 'photo')!;
        const thumb = stored.find((s) => s.variant === 'thumb')!;
        const id = await this.repo.insertPhoto(listingId, photo.key, thumb.key, this.d.clock.now(), t);
        return { id, url: photo.key, thumbnailUrl: thumb.key };
      }),
    );
  }

  async deletePhoto(userId: number, listingId: number, photoId: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      const l = await requireSeller(this.d, await this.repo.lockListing(listingId, t), userId, 'delete photos of', t);
      if (l.status === 'sold') throw soldIsFinal();
      const photo = await this.repo.findPhoto(listingId, photoId, t);
      if (!photo) throw NotFound('Photo');
      await this.repo.deletePhoto(listingId, photoId, t);
      await this.d.media.deleteAfterCommit(t, [photo.url, photo.thumbnailUrl]);
    });
  }

  // --- presentation ------------------------------------------------------------------------------

  /** Listing JSON for a page of rows in two more queries (photos, my favourites). */
  async present(viewerId: number, rows: ListingRow[]): Promise<Listing[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const [photos, favorited] = await Promise.all([this.repo.photosOf(ids), this.repo.favoritedBy(viewerId, ids)]);
    return rows.map((r) =>
      toListing(
        r,
        photos.filter((p) => Number(p.listingId) === r.id),
        favorited.has(r.id),
        viewerId,
      ),
    );
  }

  // --- geo index ---------------------------------------------------------------------------------

  /** The geo change's outbox row, written in the writer's transaction under the listing's row lock. */
  private async recordGeo(listingId: number, t: Transaction): Promise<GeoListingChange> {
    const l = (await this.repo.lockListing(listingId, t))!;
    const change: GeoListingChange = {
      listingId,
      version: l.geoVersion,
      point: l.listed ? { lat: l.lat, lng: l.lng } : null,
    };
    await this.d.outbox.add(t, TOPIC_GEO_LISTING, change);
    return change;
  }

  /** Carries out a geo change (the outbox handler and the fast path); idempotent and order-safe. */
  async applyGeo(change: GeoListingChange): Promise<void> {
    await this.d.geo.apply([{ id: change.listingId, version: change.version, point: change.point }]);
  }

  private async afterGeo(change: GeoListingChange | null): Promise<void> {
    if (!change) return;
    try {
      await this.applyGeo(change);
    } catch (err) {
      this.d.logger.debug(
        { err: (err as Error).message, listingId: change.listingId },
        'geo fast path failed; outbox retries',
      );
    }
  }

  reindexGeo(options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {}) {
    return reindexListingGeo(this.repo, this.d.geo, options);
  }
}

/** Rebuilds the listings' geo index from MySQL (also used by the reindex CLI, which has no app). */
export function reindexListingGeo(
  repo: MarketRepository,
  geo: MarketDeps['geo'],
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
) {
  return geo.rebuildFromTable(
    { count: () => repo.countIndexed(), batch: (afterId, size) => repo.indexedGeoBatch(afterId, size) },
    options,
  );
}

const round6 = (n: number) => Math.round(n * 1e6);

function writeOf(input: CreateListingInput): ListingWrite {
  return {
    title: input.title,
    description: input.description ?? '',
    category: input.category,
    price: input.price,
    lat: input.location.lat,
    lng: input.location.lng,
    address: input.address,
    searchText: searchDocument(input.title, input.description ?? ''),
  };
}
