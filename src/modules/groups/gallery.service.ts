import type { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import { PRESETS } from '../../infra/images/pipeline';
import { decodeIdCursor, encodeCursor } from '../../http/cursor';
import { Forbidden, NotFound, Unavailable } from '../../errors';
import { consume, snippet, type GroupsDeps } from './groups.deps';
import type { GroupsService } from './groups.service';
import type { GalleryRepository, PhotoCommentRow, PhotoRow } from './gallery.repository';
import { iso, type PublicUserRef } from './groups.presenter';

export interface GroupPhoto {
  id: number;
  url: string;
  thumbnailUrl: string;
  caption: string;
  author: PublicUserRef;
  likeCount: number;
  likedByMe: boolean;
  commentCount: number;
  createdAt: string;
}

export interface PhotoComment {
  id: number;
  photoId: number;
  author: PublicUserRef;
  body: string;
  createdAt: string;
}

export interface GalleryLimiters {
  comments: RateLimiterRedis;
  likes: RateLimiterRedis;
}

/**
 * The group gallery: photos through the one upload pipeline (services.media: 1600 px and 320 px
 * WebP, metadata gone), likes and comments with the rules of community posts — likes idempotent
 * (a (photo, user) primary key; the counter moves only with a real change), comment bodies 1–2000,
 * oldest first, the same per-person rate limits — and counts written in the same transaction as
 * the rows they count, under the photo's row lock, so they are exact. A comment notifies the
 * photo's author (`group.photo_comment`), never oneself. Everything is for members only (404).
 */
export class GalleryService {
  constructor(
    private readonly d: GroupsDeps,
    private readonly groups: GroupsService,
    private readonly repo: GalleryRepository,
    private readonly limits: GalleryLimiters,
  ) {}

  async add(userId: number, groupId: number, image: Buffer, caption: string): Promise<GroupPhoto> {
    if (!this.d.media.storesImages) throw Unavailable('Image uploads are not configured on this server');
    await this.groups.requireMember(groupId, userId);
    const id = await this.d.media.replace(image, PRESETS.postPhoto, `groups/${groupId}`, (stored) =>
      inTransaction(this.d.sequelize, async (t) => {
        // The group's row lock: a photo cannot land in a group being deleted (its file would stay).
        await this.groups.lockAs(groupId, userId, 'any', t);
        const photo = stored.find((s) => s.variant === 'photo')!;
        const thumb = stored.find((s) => s.variant === 'thumb')!;
        const now = this.d.clock.now();
        const photoId = await this.repo.insertPhoto(
          { groupId, authorId: userId, url: photo.key, thumbnailUrl: thumb.key, caption },
          now,
          t,
        );
        // Under the group's row lock, so concurrent adds of one author count one after another.
        const authorPhotos = await this.repo.countByAuthor(groupId, userId, t);
        await this.d.events.emit(t, 'group.photo.added', {
          groupId,
          photoId,
          authorId: userId,
          createdAt: now,
          authorPhotos,
        });
        return photoId;
      }),
    );
    return this.view(userId, groupId, id);
  }

  /** Newest first; each photo with its like and comment counts and whether I like it. */
  async list(userId: number, groupId: number, page: { limit: number; cursor?: string }) {
    await this.groups.requireMember(groupId, userId);
    const rows = await this.repo.page(groupId, userId, decodeIdCursor(page.cursor) ?? null, page.limit + 1);
    const items = rows.slice(0, page.limit);
    const liked = await this.repo.likedBy(
      userId,
      items.map((r) => r.id),
    );
    return {
      items: items.map((r) => toPhoto(r, liked.has(r.id))),
      nextCursor: rows.length > page.limit ? encodeCursor({ id: items[items.length - 1].id }) : null,
    };
  }

  /** Its author, the owner and admins delete (other members 403); the files go after the commit. */
  async delete(userId: number, groupId: number, photoId: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.groups.requireMember(groupId, userId, t);
      const p = await this.visible(groupId, photoId, userId, t, true);
      if (p.authorId !== userId && g.role === 'member')
        throw Forbidden('Only its author, the owner or an admin can delete this photo');
      await this.repo.deletePhoto(groupId, photoId, t);
      await this.d.media.deleteAfterCommit(t, [p.url, p.thumbnailUrl]);
    });
  }

  async like(userId: number, groupId: number, photoId: number, like: boolean) {
    await this.groups.requireMember(groupId, userId);
    await consume(this.limits.likes, userId);
    return inTransaction(this.d.sequelize, async (t) => {
      await this.visible(groupId, photoId, userId, t);
      const now = this.d.clock.now();
      if (like) await this.repo.like(photoId, userId, now, t);
      else await this.repo.unlike(photoId, userId, t);
      return this.repo.likeState(photoId, userId, t);
    });
  }

  async comment(userId: number, groupId: number, photoId: number, body: string): Promise<PhotoComment> {
    await this.groups.requireMember(groupId, userId);
    await consume(this.limits.comments, userId);
    const id = await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.groups.requireMember(groupId, userId, t);
      const p = await this.visible(groupId, photoId, userId, t, true);
      const id = await this.repo.insertComment(photoId, userId, body, this.d.clock.now(), t);
      if (p.authorId !== userId) {
        const me = await this.d.users.findById(userId, t);
        await this.d.notifications.notifyInTx(t, {
          recipientId: p.authorId,
          type: 'group.photo_comment',
          title: `${me?.nickname ?? 'Someone'} commented on your photo in ${g.name}`,
          body: snippet(body),
          data: { groupId, photoId, commentId: id },
          dedupeKey: `group-photo-comment:${id}`,
        });
      }
      return id;
    });
    const c = await this.repo.findComment(photoId, id);
    if (!c) throw NotFound('Comment');
    return toComment(c);
  }

  async comments(userId: number, groupId: number, photoId: number, page: { limit: number; cursor?: string }) {
    await this.groups.requireMember(groupId, userId);
    await this.visible(groupId, photoId, userId);
    const rows = await this.repo.comments(photoId, decodeIdCursor(page.cursor) ?? 0, page.limit + 1);
    const items = rows.slice(0, page.limit);
    return {
      items: items.map(toComment),
      nextCursor: rows.length > page.limit ? encodeCursor({ id: items[items.length - 1].id }) : null,
    };
  }

  /** Its author, the photo's author, the owner and admins delete a comment (other members 403). */
  async deleteComment(userId: number, groupId: number, photoId: number, commentId: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.groups.requireMember(groupId, userId, t);
      const p = await this.visible(groupId, photoId, userId, t, true);
      const c = await this.repo.findComment(photoId, commentId, t);
      if (!c) throw NotFound('Comment');
      if (c.authorId !== userId && p.authorId !== userId && g.role === 'member')
        throw Forbidden('Only its author, the photo’s author, the owner or an admin can delete this comment');
      await this.repo.deleteComment(photoId, commentId, t);
    });
  }

  // --- reports and deletion ----------------------------------------------------------------------

  /** The report target `photo`: its author when the reporter is a member who can see it. */
  async reportable(photoId: number, viewerId: number): Promise<{ ownerId: number } | null> {
    const p = await this.repo.findPhotoById(photoId);
    if (!p || (p.hiddenAt && p.authorId !== viewerId)) return null;
    if (!(await this.groups.isMember(p.groupId, viewerId))) return null;
    return { ownerId: p.authorId };
  }

  async setHiddenInTx(photoId: number, hidden: boolean, t: Transaction): Promise<void> {
    await this.repo.setHidden(photoId, hidden, this.d.clock.now(), t);
  }

  /** An operator removes a reported photo: as if its author deleted it. */
  async removeInTx(photoId: number, t: Transaction): Promise<void> {
    const p = await this.repo.findPhotoById(photoId, t);
    if (!p) return;
    await this.repo.deletePhoto(p.groupId, photoId, t);
    await this.d.media.deleteAfterCommit(t, [p.url, p.thumbnailUrl]);
  }

  /** Files of every photo of a group (deletion schedules them). */
  filesOf(groupId: number, t: Transaction): Promise<string[]> {
    return this.repo.filesOf(groupId, t);
  }

  // --- internals ---------------------------------------------------------------------------------

  /** The photo in this group that the member may see (hidden by reports: its author only). */
  private async visible(groupId: number, photoId: number, userId: number, t?: Transaction, lock = false) {
    const p = await this.repo.findPhoto(groupId, photoId, t, lock);
    if (!p || (p.hiddenAt && p.authorId !== userId)) throw NotFound('Photo');
    return p;
  }

  private async view(userId: number, groupId: number, photoId: number): Promise<GroupPhoto> {
    const p = await this.repo.findPhoto(groupId, photoId);
    if (!p) throw NotFound('Photo');
    return toPhoto(p, (await this.repo.likedBy(userId, [photoId])).has(photoId));
  }
}

const author = (r: { authorId: number; authorNickname: string; authorAvatarUrl: string | null }): PublicUserRef => ({
  id: r.authorId,
  nickname: r.authorNickname,
  avatarUrl: r.authorAvatarUrl,
});

export const toPhoto = (p: PhotoRow, likedByMe: boolean): GroupPhoto => ({
  id: p.id,
  url: p.url,
  thumbnailUrl: p.thumbnailUrl,
  caption: p.caption,
  author: author(p),
  likeCount: Number(p.likeCount),
  likedByMe,
  commentCount: Number(p.commentCount),
  createdAt: iso(p.createdAt),
});

const toComment = (c: PhotoCommentRow): PhotoComment => ({
  id: c.id,
  photoId: c.photoId,
  author: author(c),
  body: c.body,
  createdAt: iso(c.createdAt),
});
