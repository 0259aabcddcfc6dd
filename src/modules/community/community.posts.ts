import type { Transaction } from 'sequelize';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import { RebuildRunning, type RebuildProgress } from '../../infra/geo';
import { PRESETS } from '../../infra/images/pipeline';
import { Conflict, Forbidden, NotFound, Unavailable } from '../../errors';
import type { ChatRoom } from '../chat/chat.service';
import type { CommunityRepository, PostBase, PostRow, PostWrite } from './community.repository';
import { consume, requireVisible, type CommunityDeps } from './community.deps';
import { tagsOf, toPost, type Photo, type Post } from './community.presenter';
import { prefixKeys, searchDocument } from '../search-text';
import { MAX_PHOTOS, MAX_ROOM_MEMBERS, type PostKind } from './community.schemas';

/** Outbox topic: a post's point or index membership changed (its state and version ride along). */
export const TOPIC_GEO_POST = 'geo.post';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_GEO_POST]: GeoPostChange;
  }
}

export interface GeoPostChange {
  postId: number;
  version: number;
  point: { lat: number; lng: number } | null;
}

export interface CreatePostInput {
  kind: PostKind;
  title: string;
  body: string;
  tags: string[];
  location: { lat: number; lng: number } | null;
  address: string | null;
}

export type UpdatePostInput = Partial<Omit<CreatePostInput, 'kind'>>;

const tooManyPhotos = () => Conflict(`A post may have at most ${MAX_PHOTOS} photos; delete one first`);

/** Posts: create, read, edit, delete, photos, the open chat room, and the geo index. */
export class PostsService {
  constructor(
    private readonly d: CommunityDeps,
    private readonly limiter: RateLimiterRedis,
  ) {}

  private get repo(): CommunityRepository {
    return this.d.repo;
  }

  async create(userId: number, input: CreatePostInput): Promise<Post> {
    await consume(this.limiter, userId);
    const data = this.writeOf(input);
    const { id, change } = await inTransaction(this.d.sequelize, async (t) => {
      if (!(await this.d.users.findById(userId, t))) throw NotFound('User');
      const now = this.d.clock.now();
      const id = await this.repo.insertPost(userId, data, now, t);
      await this.repo.replaceTags(id, data.tags, now, t);
      await this.repo.addWordPrefixes(id, now, prefixKeys(data.title, data.body), t);
      if (input.kind === 'open_chat') {
        const { roomId } = await this.d.chat.createRoomInTx(t, { type: 'post', postId: id, memberIds: [userId] });
        await this.repo.setChatRoom(id, roomId, t);
      }
      return { id, change: data.lat !== null ? await this.recordGeo(id, t) : null };
    });
    await this.afterGeo(change);
    return this.get(userId, id);
  }

  async get(viewerId: number, id: number): Promise<Post> {
    const row = await requireVisible(this.d, await this.repo.findPost(id), viewerId);
    return (await this.present(viewerId, [row]))[0];
  }

  /** The author edits (others who can see the post: 403); `editedAt` is set. */
  async update(userId: number, id: number, changes: UpdatePostInput): Promise<Post> {
    const change = await inTransaction(this.d.sequelize, async (t) => {
      const p = await this.requireAuthor(await this.repo.lockPost(id, t), userId, 'edit', t);
      const cur: CreatePostInput = {
        kind: p.kind,
        title: p.title,
        body: p.body,
        tags: tagsOf(p),
        location: p.lat === null || p.lng === null ? null : { lat: Number(p.lat), lng: Number(p.lng) },
        address: p.address,
      };
      const next = { ...cur, ...changes };
      const data = this.writeOf(next);
      const moved = data.lat !== (cur.location?.lat ?? null) || data.lng !== (cur.location?.lng ?? null);
      const now = this.d.clock.now();
      await this.repo.updatePost(id, data, moved, now, t);
      if (changes.tags) await this.repo.replaceTags(id, data.tags, new Date(p.createdAt), t);
      if (data.title !== p.title || data.body !== p.body) {
        const createdAt = new Date(p.createdAt);
        await this.repo.dropWordPrefixes(id, createdAt, prefixKeys(p.title, p.body), t);
        await this.repo.addWordPrefixes(id, createdAt, prefixKeys(data.title, data.body), t);
      }
      return moved ? this.recordGeo(id, t) : null;
    });
    await this.afterGeo(change);
    return this.get(userId, id);
  }

  /** The author deletes: 404 from then on, out of every list, photos out of storage after commit. */
  async delete(userId: number, id: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      await this.requireAuthor(await this.repo.lockPost(id, t), userId, 'delete', t);
      await this.removeInTx(id, t);
    });
    // Photo deletions and the geo removal ride on outbox rows written above (nudged at commit).
  }

  /**
   * Deletes a post inside the caller's transaction (the author, or an operator resolving reports):
   * the row leaves every list, its photos' objects are deleted once this commits, its room closes.
   */
  async removeInTx(id: number, t: Transaction): Promise<void> {
    const p = await this.repo.lockPost(id, t);
    if (!p || p.deletedAt) return;
    const now = this.d.clock.now();
    await this.repo.deletePost(id, now, t);
    await this.repo.dropWordPrefixes(id, new Date(p.createdAt), prefixKeys(p.title, p.body), t);
    const photos = await this.repo.deleteAllPhotos(id, t);
    if (photos.length)
      await this.d.media.deleteAfterCommit(
        t,
        photos.flatMap((ph) => [ph.url, ph.thumbnailUrl]),
      );
    if (p.chatRoomId) await this.d.chat.closeRoomInTx(t, Number(p.chatRoomId));
    if (p.lat !== null) await this.recordGeo(id, t);
  }

  /** Reports hide (or show again) a post; the geo index follows through the outbox. */
  async setHiddenInTx(id: number, hidden: boolean, t: Transaction): Promise<void> {
    const p = await this.repo.lockPost(id, t);
    if (!p || p.deletedAt) return;
    await this.repo.setPostHidden(id, hidden, this.d.clock.now(), t);
    if (p.lat !== null) await this.recordGeo(id, t);
  }

  // --- photos ------------------------------------------------------------------------------------

  /** Adds a photo (author only, ≤ 10): a 1600 px WebP and a 320 px thumbnail through the one pipeline. */
  async addPhoto(userId: number, postId: number, image: Buffer): Promise<Photo> {
    if (!this.d.media.storesImages) throw Unavailable('Image uploads are not configured on this server');
    // Checked before the expensive render, and again under the lock (two uploads at once).
    const before = await this.requireAuthor(await this.repo.findPost(postId), userId, 'add photos to');
    if (Number(before.photoCount) >= MAX_PHOTOS) throw tooManyPhotos();
    return this.d.media.replace(image, PRESETS.postPhoto, `posts/${postId}`, (stored) =>
      inTransaction(this.d.sequelize, async (t) => {
        const p = await this.requireAuthor(await this.repo.lockPost(postId, t), userId, 'add photos to', t);
        if (Number(p.photoCount) >= MAX_PHOTOS) throw tooManyPhotos();
        const photo = stored.find((s) => s.variant === 'photo')!;
        const thumb = stored.find((s) => s.variant === 'thumb')!;
        const id = await this.repo.insertPhoto(postId, photo.key, thumb.key, this.d.clock.now(), t);
        return { id, url: photo.key, thumbnailUrl: thumb.key };
      }),
    );
  }

  async deletePhoto(userId: number, postId: number, photoId: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      await this.requireAuthor(await this.repo.lockPost(postId, t), userId, 'delete photos of', t);
      const photo = await this.repo.findPhoto(postId, photoId, t);
      if (!photo) throw NotFound('Photo');
      await this.repo.deletePhoto(postId, photoId, t);
      await this.d.media.deleteAfterCommit(t, [photo.url, photo.thumbnailUrl]);
    });
  }

  // --- open chat ---------------------------------------------------------------------------------

  /**
   * Joins the open chat of a post (idempotent, 200 with the room). The post's row lock serializes
   * joins, so the member count never passes MAX_ROOM_MEMBERS (409 when full).
   */
  async joinChat(userId: number, postId: number): Promise<ChatRoom> {
    const chat = this.d.chat;
    const roomId = await inTransaction(this.d.sequelize, async (t) => {
      const p = await requireVisible(this.d, await this.repo.lockPost(postId, t), userId, t);
      if (p.kind !== 'open_chat' || !p.chatRoomId) throw NotFound('Chat room');
      const roomId = Number(p.chatRoomId);
      if (await chat.isMember(roomId, userId, t)) return roomId;
      if ((await chat.memberCount(roomId, t)) >= MAX_ROOM_MEMBERS)
        throw Conflict(`This chat is full (${MAX_ROOM_MEMBERS} members)`);
      await chat.addMember(t, roomId, userId);
      return roomId;
    });
    return chat.getRoom(userId, roomId);
  }

  /** Leaves the open chat (204); the author stays with their post's room (409). */
  async leaveChat(userId: number, postId: number): Promise<void> {
    const chat = this.d.chat;
    const afterCommit = await inTransaction(this.d.sequelize, async (t) => {
      const p = await this.repo.lockPost(postId, t);
      if (!p || p.kind !== 'open_chat' || !p.chatRoomId) throw NotFound('Chat room');
      const roomId = Number(p.chatRoomId);
      if (!(await chat.isMember(roomId, userId, t))) throw NotFound('Chat membership');
      if (p.authorId === userId && !p.deletedAt) throw Conflict('The author cannot leave the chat of their own post');
      return chat.removeMember(t, roomId, userId);
    });
    afterCommit();
  }

  // --- presentation ------------------------------------------------------------------------------

  /**
   * Post JSON for a page of rows: feed pages carry my like and the photos already (one round trip);
   * other rows take two more queries (photos, my likes) for the whole page.
   */
  async present(viewerId: number, rows: PostRow[]): Promise<Post[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const [photos, liked] = await Promise.all([this.repo.photosOf(ids), this.repo.likedPosts(viewerId, ids)]);
    return rows.map((r) =>
      toPost(
        r,
        photos.filter((p) => Number(p.postId) === r.id),
        liked.has(r.id),
      ),
    );
  }

  // --- geo index ---------------------------------------------------------------------------------

  /** The geo change's outbox row, written in the writer's transaction under the post's row lock. */
  private async recordGeo(postId: number, t: Transaction): Promise<GeoPostChange> {
    const p = (await this.repo.lockPost(postId, t))!;
    const indexed = Number(p.listed) === 1 && p.lat !== null && p.lng !== null;
    const change: GeoPostChange = {
      postId,
      version: Number(p.geoVersion),
      point: indexed ? { lat: Number(p.lat), lng: Number(p.lng) } : null,
    };
    await this.d.outbox.add(t, TOPIC_GEO_POST, change);
    return change;
  }

  /** Carries out a geo change (the outbox handler and the fast path); idempotent and order-safe. */
  async applyGeo(change: GeoPostChange): Promise<void> {
    await this.d.geo.apply([{ id: change.postId, version: change.version, point: change.point }]);
  }

  private async afterGeo(change: GeoPostChange | null): Promise<void> {
    if (change) {
      try {
        await this.applyGeo(change);
      } catch (err) {
        this.d.logger.debug(
          { err: (err as Error).message, postId: change.postId },
          'geo fast path failed; outbox retries',
        );
      }
    }
  }

  reindexGeo(options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {}) {
    return reindexPostGeo(this.repo, this.d.geo, options);
  }

  /** An empty index with posts to show (Redis restarted without persistence) is rebuilt from MySQL. */
  async healGeoIndex(): Promise<boolean> {
    if ((await this.d.geo.size()) > 0 || (await this.repo.countIndexed()) === 0) return false;
    try {
      const { count } = await this.reindexGeo();
      this.d.logger.warn({ count }, 'the posts geo index was missing and has been rebuilt from MySQL');
      return true;
    } catch (err) {
      if (err instanceof RebuildRunning) return false;
      throw err;
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  private writeOf(input: CreatePostInput): PostWrite {
    return {
      kind: input.kind,
      title: input.title,
      body: input.body,
      tags: input.tags ?? [],
      lat: input.location?.lat ?? null,
      lng: input.location?.lng ?? null,
      address: input.address ?? null,
      searchText: searchDocument(input.title, input.body),
    };
  }

  /** The author passes; others who can see the post get 403; everyone else 404. */
  private async requireAuthor<P extends PostBase>(
    post: P | null,
    userId: number,
    action: string,
    t?: Transaction,
  ): Promise<P> {
    const p = await requireVisible(this.d, post, userId, t);
    if (p.authorId !== userId) throw Forbidden(`Only the author can ${action} this post`);
    return p;
  }
}

/** Rebuilds the posts' geo index from MySQL (also used by the reindex CLI, which has no app). */
export function reindexPostGeo(
  repo: CommunityRepository,
  geo: CommunityDeps['geo'],
  options: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
) {
  return geo.rebuildFromTable(
    { count: () => repo.countIndexed(), batch: (afterId, size) => repo.indexedGeoBatch(afterId, size) },
    options,
  );
}
