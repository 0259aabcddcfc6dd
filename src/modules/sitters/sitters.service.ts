import Joi from 'joi';
import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { ReadReplicas, ReadRouter } from '../../infra/replicas';
import { haversineMeters, type GeoIndex, type RebuildProgress } from '../../infra/geo';
import { healGeoIndex, type HealableIndex } from '../../infra/geo-heal';
import { type Outbox } from '../../infra/outbox';
import { PRESETS } from '../../infra/images/pipeline';
import { Conflict, InvalidFields, NotFound, fieldError, type FieldError } from '../../errors';
import type { UsersService } from '../users/users.service';
import type { MediaService } from '../media/media.service';
import type { Blocks } from '../safety/safety.service';
import type { PublicUser } from '../users/users.presenter';
import { SittersRepository, type SitterRow, type SitterWrite } from './sitters.repository';
import type { Point, PublicLocations } from './sitters.location';
import { acceptsSize, priceOf, toSitter, type PhotoView, type SitterView } from './sitters.presenter';
import { SitterSearch, type FullDayFilter, type SearchPage, type SearchQuery } from './sitters.search';
import { mapGrid, toMarkers, type MapMarker, type MapQuery } from './sitters.map';
import { SitterMapSnapshot } from './sitters.map-snapshot';
import { cursorId, decodeCursor, paginate } from '../../http/cursor';
import { SERVICES, type PetSize, type Service } from './sitters.schemas';
import { dayIn } from './sitters.days';

/** Outbox topic: a sitter's location or activity changed; the payload is its new state and version. */
export const TOPIC_GEO_SITTER = 'geo.sitter';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_GEO_SITTER]: GeoSitterChange;
  }
}

export interface GeoSitterChange {
  sitterId: number;
  /** `sitters.geoVersion` after the change. */
  version: number;
  active: boolean;
  lat: number;
  lng: number;
}

export const MAX_PHOTOS = 10;
const tooManyPhotos = () => Conflict(`A sitter may have at most ${MAX_PHOTOS} photos; delete one first`);

export interface SitterInput {
  headline: string;
  bio: string;
  services: Service[];
  prices: Partial<Record<Service, number>>;
  acceptedSizes: PetSize[];
  maxPets: number;
  location: { lat: number; lng: number };
  address: string;
}

export interface ReviewView {
  id: number;
  rating: number;
  comment: string | null;
  author: PublicUser;
  createdAt: string;
}

const reviewCursor = Joi.object({ i: cursorId });

/** A tombstone for reviews whose author deleted the account: the review stays readable. */
const deletedAuthor = (id: number): PublicUser => ({
  id,
  nickname: 'Deleted user',
  bio: '',
  avatarUrl: null,
  isSitter: false,
});

/** What booking needs to know of a sitter, as plain values (the row stays in this module). */
export interface BookableSitter {
  id: number;
  userId: number;
  active: boolean;
  maxPets: number;
  /** Per service; null when the sitter does not offer it. */
  prices: Record<Service, number | null>;
  accepts: Record<PetSize, boolean>;
}

const toBookable = (row: SitterRow): BookableSitter => ({
  id: row.id,
  userId: row.userId,
  active: row.active,
  maxPets: row.maxPets,
  prices: Object.fromEntries(SERVICES.map((s) => [s, priceOf(row, s)])) as BookableSitter['prices'],
  accepts: { small: acceptsSize(row, 'small'), medium: acceptsSize(row, 'medium'), large: acceptsSize(row, 'large') },
});

export class SittersService {
  readonly search: SitterSearch;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly repo: SittersRepository,
    private readonly users: UsersService,
    readonly geo: GeoIndex,
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly serviceTz: string,
    private readonly logger: Logger,
    private readonly media: MediaService,
    fullDays: FullDayFilter,
    private readonly locations: PublicLocations,
    /** Sitter profiles among these the owner has an accepted reservation with (reservations module). */
    private readonly acceptedSittersOf: (ownerId: number, sitterIds: number[]) => Promise<Set<number>>,
    /** Where lag-tolerant reads may go (src/infra/replicas.ts); without replicas, the primary. */
    replicas: ReadReplicas,
  ) {
    this.search = new SitterSearch(geo, repo, () => this.today(), fullDays);
    this.mapSnapshot = new SitterMapSnapshot(
      repo,
      () => this.clock.now(),
      (id, home) => locations.publicPoint(id, home),
    );
    // Search candidates' details and public profiles tolerate the replicas' bounded lag; the same
    // search on a replica's connection (its own repository), the rest of the service on the primary.
    this.reads = replicas.router({ search: this.search, repo }, (replica) => {
      const replicaRepo = new SittersRepository(replica);
      return { search: new SitterSearch(geo, replicaRepo, () => this.today(), fullDays), repo: replicaRepo };
    });
  }

  /** The map's points in memory, synced from the primary before each map read (see SitterMapSnapshot). */
  private readonly mapSnapshot: SitterMapSnapshot;
  private readonly reads: ReadRouter<{ search: SitterSearch; repo: SittersRepository }>;

  today(): string {
    return dayIn(this.clock.now(), this.serviceTz);
  }

  private blocks: Blocks | null = null;

  /** The safety module's block check: blocked users do not see each other as sitters. */
  setBlocks(blocks: Blocks | null): void {
    this.blocks = blocks;
  }

  // --- my profile --------------------------------------------------------------------------------

  /** Creates or replaces my profile; I become a sitter (again) in the same transaction. */
  async putMine(userId: number, input: SitterInput): Promise<SitterView> {
    const data = toWrite(input);
    const now = this.clock.now();
    const write = () =>
      inTransaction(this.sequelize, async (t) => {
        const existing = await this.repo.findByUserId(userId, t, true);
        const id = existing ? existing.id : await this.repo.insert(userId, data, now, t);
        if (existing) await this.repo.replace(id, data, now, t);
        await this.users.setSitterFlag(userId, true, t);
        return this.recordGeoChange(id, t);
      });
    let change: GeoSitterChange;
    try {
      change = await write();
    } catch (err) {
      // Two first PUTs raced and UNIQUE(userId) refused the second insert: now the row exists, so
      // the retry replaces it, as the later PUT should.
      if (!(err instanceof UniqueConstraintError)) throw err;
      change = await write();
    }
    await this.afterGeoChange(change);
    return this.getMine(userId);
  }

  async getMine(userId: number): Promise<SitterView> {
    const row = await this.repo.findByUserId(userId);
    if (!row) throw NotFound('Sitter profile');
    return this.view(row);
  }

  /** Leaves search at once (the query checks `active`; the index follows), keeps the history. */
  async deactivateMine(userId: number): Promise<void> {
    const change = await inTransaction(this.sequelize, async (t) => {
      const row = await this.repo.findByUserId(userId, t, true);
      if (!row) throw NotFound('Sitter profile');
      await this.repo.deactivate(row.id, this.clock.now(), t);
      await this.users.setSitterFlag(userId, false, t);
      return this.recordGeoChange(row.id, t);
    });
    await this.afterGeoChange(change);
  }

  /**
   * Account deletion (inside its transaction): the profile leaves search and the geo index. The geo
   * change rides on the outbox row, carried out after the deletion commits.
   */
  async deactivateForDeletedAccount(userId: number, t: Transaction): Promise<void> {
    const row = await this.repo.findByUserId(userId, t, true);
    if (!row || !row.active) return;
    await this.repo.deactivate(row.id, this.clock.now(), t);
    await this.recordGeoChange(row.id, t);
  }

  async getUnavailableDates(userId: number): Promise<{ dates: string[] }> {
    const row = await this.repo.findByUserId(userId);
    if (!row) throw NotFound('Sitter profile');
    return { dates: await this.repo.listUnavailable(row.id, this.today()) };
  }

  /** Replaces the set of days I am not available, from today on. */
  async setUnavailableDates(userId: number, dates: string[]): Promise<{ dates: string[] }> {
    const today = this.today();
    const errors: FieldError[] = [];
    dates.forEach((d, i) => {
      if (d < today)
        errors.push(fieldError(`body.dates.${i}`, `is ${d}, in the past (today is ${today} in ${this.serviceTz})`));
    });
    if (errors.length) throw InvalidFields(errors);
    const sorted = [...dates].sort();
    await inTransaction(this.sequelize, async (t) => {
      // The sitter row lock serializes concurrent replacements (no interleaved delete/insert).
      const row = await this.repo.findByUserId(userId, t, true);
      if (!row) throw NotFound('Sitter profile');
      await this.repo.replaceUnavailable(row.id, today, sorted, this.clock.now(), t);
    });
    return { dates: sorted };
  }

  // --- photos ------------------------------------------------------------------------------------

  async addPhoto(userId: number, image: Buffer): Promise<PhotoView> {
    const before = await this.repo.findByUserId(userId);
    // Refuse what can be refused before the expensive render; the transaction re-checks under the lock.
    if (!before) throw NotFound('Sitter profile');
    if ((await this.repo.countPhotos(before.id)) >= MAX_PHOTOS) throw tooManyPhotos();
    return this.media.replace(image, PRESETS.sitterPhoto, `sitters/${before.id}`, (stored) =>
      inTransaction(this.sequelize, async (t) => {
        const row = await this.repo.findByUserId(userId, t, true);
        if (!row) throw NotFound('Sitter profile');
        if ((await this.repo.countPhotos(row.id, t)) >= MAX_PHOTOS) throw tooManyPhotos();
        const photo = stored.find((s) => s.variant === 'photo')!;
        const thumb = stored.find((s) => s.variant === 'thumb')!;
        const id = await this.repo.insertPhoto(row.id, photo.key, thumb.key, this.clock.now(), t);
        return { id, url: photo.key, thumbnailUrl: thumb.key };
      }),
    );
  }

  /** Deletes one of my photos; its objects are removed only once the row's deletion commits. */
  async deletePhoto(userId: number, photoId: number): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      const row = await this.repo.findByUserId(userId, t, true);
      const photo = row ? await this.repo.findPhoto(row.id, photoId, t) : null;
      if (!photo) throw NotFound('Photo');
      await this.repo.deletePhoto(photo.id, t);
      await this.media.deleteAfterCommit(t, [photo.url, photo.thumbnailUrl]);
    });
  }

  // --- public ------------------------------------------------------------------------------------

  async getPublic(sitterId: number, viewerId?: number): Promise<Omit<SitterView, 'active'>> {
    const row = await this.reads.read(viewerId ?? null, ({ repo }) => repo.findPublic(sitterId));
    if (!row) throw NotFound('Sitter');
    if (viewerId && (await this.blocks?.between(viewerId, row.userId))) throw NotFound('Sitter');
    const { active: _active, ...view } = await this.view(row);
    const [shown] = await this.shownLocations([{ id: row.id, userId: row.userId, location: view.location }], viewerId);
    return { ...view, location: shown };
  }

  /**
   * The home is private: strangers see a rounded public point (PublicLocations); the sitter and
   * owners with an accepted reservation with them see the exact one.
   */
  private async shownLocations(
    sitters: Array<{ id: number; userId: number; location: Point }>,
    viewerId?: number,
  ): Promise<Point[]> {
    const others = sitters.filter((s) => s.userId !== viewerId).map((s) => s.id);
    const trusted = viewerId && others.length ? await this.acceptedSittersOf(viewerId, others) : new Set<number>();
    return sitters.map((s) =>
      s.userId === viewerId || trusted.has(s.id) ? s.location : this.locations.publicPoint(s.id, s.location),
    );
  }

  async listReviews(
    sitterId: number,
    limit: number,
    cursor?: string,
  ): Promise<{ items: ReviewView[]; nextCursor: string | null }> {
    if (!(await this.repo.findPublic(sitterId))) throw NotFound('Sitter');
    const before = cursor ? decodeCursor<{ i: number }>(cursor, reviewCursor).i : null;
    const rows = await this.repo.listReviews(sitterId, before, limit + 1);
    const { items, nextCursor } = paginate(rows, limit, (last) => ({ i: last.id }));
    const authors = await this.users.publicUsers(items.map((r) => r.authorId));
    return {
      items: items.map((r) => ({
        id: r.id,
        rating: r.rating,
        comment: r.comment,
        author: authors.get(r.authorId) ?? deletedAuthor(r.authorId),
        createdAt: new Date(r.createdAt).toISOString(),
      })),
      nextCursor,
    };
  }

  /**
   * Clustered markers of the active sitters in a viewport (API "Map view of sitters"), counted over
   * the instance's in-memory points (synced first, so exact), never a page walk.
   */
  async sitterMap(query: MapQuery, viewerId?: number): Promise<{ items: MapMarker[] }> {
    const grid = mapGrid(query);
    const hiddenUsers = viewerId && this.blocks ? await this.blocks.usersBlockedWith(viewerId) : undefined;
    const cells = await this.mapSnapshot.cells(grid, { service: query.service, petSize: query.petSize, hiddenUsers });
    return { items: toMarkers(cells) };
  }

  /** A signed-in searcher never sees sitters on either side of a block with them. */
  async searchSitters(query: SearchQuery, viewerId?: number): Promise<SearchPage> {
    const notBlocked = viewerId && this.blocks ? this.blocks.notBlockedSql('s.userId', viewerId) : undefined;
    const page = await this.reads.read(viewerId ?? null, ({ search }) => {
      // Test knobs of the primary's search (see SitterSearch) hold for a replica's too.
      search.denseAt = this.search.denseAt;
      search.walkBudget = this.search.walkBudget;
      return search.search(query, notBlocked);
    });
    const shown = await this.shownLocations(page.items, viewerId);
    const centre = { lat: query.lat, lng: query.lng };
    return {
      ...page,
      items: page.items.map((item, i) => ({
        ...item,
        location: shown[i],
        // A stranger's distance is measured to the point they are shown: an exact distance, from
        // three chosen centres, would trilaterate the home the public point hides. The radius filter
        // and the order (and so the cursor) still use the exact home.
        distanceKm:
          shown[i] === item.location ? item.distanceKm : Math.round(haversineMeters(centre, shown[i]) * 10) / 10_000,
      })),
    };
  }

  // --- for other modules (reservations) ----------------------------------------------------------

  /**
   * The sitter whatever its state, locked in the caller's transaction: reservations serialize
   * every booking change of one sitter on this lock (capacity cannot be checked-then-written twice).
   */
  async lockForBooking(sitterId: number, t: Transaction): Promise<BookableSitter | null> {
    const row = await this.repo.findAny(sitterId, t, true);
    return row && toBookable(row);
  }

  /** Unavailable days of a sitter within `from..to` (inclusive), for booking checks. */
  async unavailableWithin(sitterId: number, from: string, to: string, t?: Transaction): Promise<string[]> {
    return (await this.repo.listUnavailable(sitterId, from, t)).filter((d) => d <= to);
  }

  /**
   * Records a review in the caller's transaction (UNIQUE(reservationId): a second one throws a
   * UniqueConstraintError → 409) and recomputes the sitter's rating and count from the reviews.
   * Answers the stored `createdAt`, so the caller never reads the clock a second time.
   */
  async addReview(
    r: { reservationId: number; sitterId: number; authorId: number; rating: number; comment: string | null },
    t: Transaction,
  ): Promise<{ id: number; createdAt: Date }> {
    const now = this.clock.now();
    // The sitter row lock serializes concurrent reviews, whose recounts would otherwise deadlock.
    if (!(await this.repo.lockSitter(r.sitterId, t))) throw NotFound('Sitter');
    const id = await this.repo.insertReview(r, now, t);
    await this.repo.refreshRating(r.sitterId, now, t);
    return { id, createdAt: now };
  }

  // --- geo index ---------------------------------------------------------------------------------

  /**
   * Writes the outbox row of a change in the writer's transaction: the row's new state and version,
   * so carrying it out needs no database read and a stale one is ignored (see GeoIndex).
   */
  private async recordGeoChange(sitterId: number, t: Transaction): Promise<GeoSitterChange> {
    const s = await this.repo.geoState(sitterId, t);
    const change: GeoSitterChange = { sitterId, version: s.version, active: s.active, lat: s.lat, lng: s.lng };
    await this.outbox.add(t, TOPIC_GEO_SITTER, change);
    return change;
  }

  /** Carries out a geo change (the outbox handler, and the fast path). Idempotent and order-safe. */
  async applyGeo(change: GeoSitterChange): Promise<void> {
    await this.geo.apply([
      {
        id: change.sitterId,
        version: change.version,
        point: change.active ? { lat: change.lat, lng: change.lng } : null,
      },
    ]);
  }

  /** Fast path after commit (the outbox row makes it certain if this fails). */
  private async afterGeoChange(change: GeoSitterChange): Promise<void> {
    try {
      await this.applyGeo(change);
    } catch (err) {
      this.logger.debug(
        { err: (err as Error).message, sitterId: change.sitterId },
        'geo fast path failed; the outbox will retry',
      );
    }
  }

  /**
   * At start: an index key that is missing while MySQL has active sitters means Redis lost its data
   * (a flush, a restart without persistence); rebuild it rather than answer every search with nothing.
   * Several instances starting at once race for the rebuild marker; the losers leave it to the winner.
   */
  async healGeoIndex(): Promise<boolean> {
    return healGeoIndex(this.healable(), this.logger);
  }

  /** The index as the heal check sees it. */
  healable(): HealableIndex {
    return {
      name: 'sitters',
      geo: this.geo,
      expected: () => this.repo.countActive(),
      rebuild: () => this.reindexGeo(),
    };
  }

  /** Rebuilds the geo index from MySQL while the server keeps serving (see GeoIndex.rebuild). */
  reindexGeo(options: ReindexOptions = {}) {
    return reindexSitterGeo(this.repo, this.geo, options);
  }

  // --- internals ---------------------------------------------------------------------------------

  private async view(row: SitterRow): Promise<SitterView> {
    const [photos, distribution] = await Promise.all([
      this.repo.listPhotos(row.id),
      this.repo.ratingDistribution(row.id),
    ]);
    return toSitter(row, photos, distribution);
  }
}

export interface ReindexOptions {
  batchSize?: number;
  onProgress?: (p: RebuildProgress) => void;
}

/** Rebuilds the sitters' geo index from MySQL (also used by `npm run geo:reindex`, which has no app). */
export function reindexSitterGeo(repo: SittersRepository, geo: GeoIndex, options: ReindexOptions = {}) {
  return geo.rebuildFromTable(
    { count: () => repo.countActive(), batch: (afterId, size) => repo.activeGeoBatch(afterId, size) },
    options,
  );
}

/** The validated input as columns: one price column per service (NULL = not offered). */
function toWrite(input: SitterInput): SitterWrite {
  const price = (s: Service) => (input.services.includes(s) ? input.prices[s]! : null);
  const offered = input.services.map((s) => input.prices[s]!);
  return {
    headline: input.headline,
    bio: input.bio ?? '',
    boardingPrice: price('boarding'),
    daycarePrice: price('daycare'),
    walkingPrice: price('walking'),
    dropInPrice: price('drop_in'),
    minPrice: Math.min(...offered),
    acceptsSmall: input.acceptedSizes.includes('small'),
    acceptsMedium: input.acceptedSizes.includes('medium'),
    acceptsLarge: input.acceptedSizes.includes('large'),
    maxPets: input.maxPets,
    lat: input.location.lat,
    lng: input.location.lng,
    address: input.address,
  };
}
