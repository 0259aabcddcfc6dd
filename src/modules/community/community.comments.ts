import Joi from 'joi';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import { cursorId, decodeCursor, paginate } from '../../http/cursor';
import { Conflict, Forbidden, NotFound, ValidationFailed } from '../../errors';
import type { NotifyInput } from '../notifications/notifications.service';
import { dayIn } from '../sitters/sitters.days';
import type { CommentRow, PostBase, SqlFilter } from './community.repository';
import { consume, requireVisible, type CommunityDeps } from './community.deps';
import { toComment, type Comment } from './community.presenter';

const idCursor = Joi.object({ i: cursorId.required() });
const SNIPPET = 140;
const snippet = (s: string) => (s.length > SNIPPET ? `${s.slice(0, SNIPPET - 1)}…` : s);

/**
 * Comments and one level of replies. Every write locks the post's row first, then the comment's:
 * one lock order, and a post deleted meanwhile is seen (404) instead of gaining a comment.
 */
export class CommentsService {
  constructor(
    private readonly d: CommunityDeps,
    private readonly limiter: RateLimiterRedis,
  ) {}

  async create(userId: number, postId: number, input: { body: string; parentId?: number | null }): Promise<Comment> {
    await consume(this.limiter, userId);
    const id = await inTransaction(this.d.sequelize, async (t) => {
      const post = await requireVisible(this.d, await this.d.repo.lockPost(postId, t), userId, t);
      let parent: CommentRow | null = null;
      if (input.parentId) {
        parent = await this.d.repo.findComment(input.parentId, t, true);
        if (!parent || Number(parent.postId) !== postId || parent.hiddenAt) throw NotFound('Comment');
        if (parent.parentId !== null)
          throw ValidationFailed('Replies are one level deep: reply to the top-level comment instead', [
            { path: 'body.parentId', message: 'is a reply; replies cannot have replies' },
          ]);
        if (parent.deletedAt) throw Conflict('That comment was deleted');
        if (await this.d.blocks.between(userId, parent.authorId, t)) throw NotFound('Comment');
      }
      const now = this.d.clock.now();
      const id = await this.d.repo.insertComment(
        { postId, parentId: parent?.id ?? null, authorId: userId, body: input.body },
        now,
        t,
      );
      await this.d.repo.countComment(postId, parent?.id ?? null, 1, t);
      await this.d.repo.bumpActivity(postId, dayIn(now, this.d.serviceTz), 1, t);
      await this.notify(t, post, parent, { id, authorId: userId, body: input.body });
      return id;
    });
    return this.view(userId, id);
  }

  /** The comment's author edits (others who can see it: 403); deleted ones are 404. */
  async edit(userId: number, id: number, body: string): Promise<Comment> {
    await inTransaction(this.d.sequelize, async (t) => {
      const { comment } = await this.lockVisible(userId, id, t);
      if (comment.authorId !== userId) throw Forbidden('Only its author can edit this comment');
      await this.d.repo.editComment(id, body, this.d.clock.now(), t);
    });
    return this.view(userId, id);
  }

  /**
   * Its author or the post's author deletes. A comment with replies stays as a tombstone; counts drop
   * by one (its replies stay live and counted).
   */
  async delete(userId: number, id: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      // The post's author moderates every comment on the post, blocked commenters' included.
      const { comment, post } = await this.lockVisible(userId, id, t, { postAuthorSkipsBlock: true });
      if (comment.authorId !== userId && post.authorId !== userId)
        throw Forbidden('Only its author or the post’s author can delete this comment');
      await this.d.repo.deleteComment(id, this.d.clock.now(), t);
      await this.d.repo.countComment(post.id, comment.parentId === null ? null : Number(comment.parentId), -1, t);
      await this.d.repo.dropActivity(post.id, dayIn(new Date(comment.createdAt), this.d.serviceTz), t);
    });
  }

  /** Reports hide a comment (or show it again). */
  async setHiddenInTx(id: number, hidden: boolean, t: import('sequelize').Transaction): Promise<void> {
    await this.d.repo.setCommentHidden(id, hidden, this.d.clock.now(), t);
  }

  /** An operator removes a reported comment: as if its author deleted it. */
  async removeInTx(id: number, t: import('sequelize').Transaction): Promise<void> {
    const c = await this.d.repo.findComment(id, t);
    if (!c || c.deletedAt) return;
    await this.d.repo.lockPost(Number(c.postId), t);
    // Deleted while this waited for the lock (its author, the post's author): already counted out.
    const locked = await this.d.repo.findComment(id, t, true);
    if (!locked || locked.deletedAt) return;
    await this.d.repo.deleteComment(id, this.d.clock.now(), t);
    await this.d.repo.countComment(Number(c.postId), c.parentId === null ? null : Number(c.parentId), -1, t);
    await this.d.repo.dropActivity(Number(c.postId), dayIn(new Date(c.createdAt), this.d.serviceTz), t);
  }

  /** A comment the viewer may see (live or a tombstone, on a visible post, no block either way). */
  async findVisible(viewerId: number, id: number): Promise<CommentRow> {
    const c = await this.d.repo.findComment(id);
    if (!c || c.hiddenAt || (c.deletedAt && !Number(c.replyCount))) throw NotFound('Comment');
    await requireVisible(this.d, await this.d.repo.findPost(Number(c.postId)), viewerId);
    if (!c.deletedAt && (await this.d.blocks.between(viewerId, c.authorId))) throw NotFound('Comment');
    return c;
  }

  // --- lists -------------------------------------------------------------------------------------

  async listTopLevel(viewerId: number, postId: number, page: { limit: number; cursor?: string }) {
    await requireVisible(this.d, await this.d.repo.findPost(postId), viewerId);
    return this.page(viewerId, { postId }, page);
  }

  async listReplies(viewerId: number, commentId: number, page: { limit: number; cursor?: string }) {
    const c = await this.findVisible(viewerId, commentId);
    if (c.parentId !== null) return { items: [], nextCursor: null };
    return this.page(viewerId, { parentId: commentId }, page);
  }

  private async page(
    viewerId: number,
    where: { postId: number } | { parentId: number },
    page: { limit: number; cursor?: string },
  ): Promise<{ items: Comment[]; nextCursor: string | null }> {
    const after = page.cursor ? decodeCursor<{ i: number }>(page.cursor, idCursor).i : 0;
    const filter = this.blockFilter(viewerId);
    const rows = await this.d.repo.listComments(where, filter, after, page.limit + 1);
    const { items, nextCursor } = paginate(rows, page.limit, (last) => ({ i: last.id }));
    const liked = await this.d.repo.likedComments(
      viewerId,
      items.map((r) => r.id),
    );
    return { items: items.map((r) => toComment(r, liked.has(r.id))), nextCursor };
  }

  /** Comments of users on either side of a block with the viewer leave the list (tombstones stay). */
  private blockFilter(viewerId: number): SqlFilter {
    const notBlocked = this.d.blocks.notBlockedSql('c.authorId', viewerId);
    return {
      viewerId,
      where: [`(c.deletedAt IS NOT NULL OR (${notBlocked.sql}))`],
      replacements: notBlocked.replacements,
    };
  }

  async view(viewerId: number, id: number): Promise<Comment> {
    const [row] = await this.d.repo.findComments([id]);
    if (!row) throw NotFound('Comment');
    const liked = await this.d.repo.likedComments(viewerId, [id]);
    return toComment(row, liked.has(id));
  }

  // --- internals ---------------------------------------------------------------------------------

  /**
   * Locks the post, then the comment (the order every comment write uses). A block between the user
   * and the comment's author hides it (404), unless `postAuthorSkipsBlock` and the user wrote the post.
   */
  async lockVisible(
    userId: number,
    id: number,
    t: import('sequelize').Transaction,
    opts: { postAuthorSkipsBlock?: boolean } = {},
  ) {
    const found = await this.d.repo.findComment(id, t);
    if (!found || found.deletedAt || found.hiddenAt) throw NotFound('Comment');
    const post = await requireVisible(this.d, await this.d.repo.lockPost(Number(found.postId), t), userId, t);
    const comment = await this.d.repo.findComment(id, t, true);
    if (!comment || comment.deletedAt) throw NotFound('Comment');
    const moderating = opts.postAuthorSkipsBlock === true && post.authorId === userId;
    if (!moderating && (await this.d.blocks.between(userId, comment.authorId, t))) throw NotFound('Comment');
    return { comment, post };
  }

  /**
   * `comment.new` to the post's author, `comment.reply` to the parent comment's author: one per
   * person and event (a post author who wrote the parent gets the reply only), never to oneself.
   */
  private async notify(
    t: import('sequelize').Transaction,
    post: PostBase,
    parent: CommentRow | null,
    c: { id: number; authorId: number; body: string },
  ): Promise<void> {
    const actor = await this.d.users.findById(c.authorId, t);
    const who = actor?.nickname ?? 'Someone';
    const data = { postId: post.id, commentId: c.id, parentId: parent?.id ?? null };
    const inputs: NotifyInput[] = [];
    const replyTo = parent && parent.authorId !== c.authorId ? parent.authorId : null;
    if (replyTo !== null)
      inputs.push({
        recipientId: replyTo,
        type: 'comment.reply',
        title: `${who} replied to your comment`,
        body: snippet(c.body),
        data,
        dedupeKey: `comment:${c.id}:reply`,
      });
    if (post.authorId !== c.authorId && post.authorId !== replyTo)
      inputs.push({
        recipientId: post.authorId,
        type: 'comment.new',
        title: `${who} commented on ${post.title}`,
        body: snippet(c.body),
        data,
        dedupeKey: `comment:${c.id}:new`,
      });
    if (inputs.length) await this.d.notifications.notifyManyInTx(t, inputs);
  }
}
