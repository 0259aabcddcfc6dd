import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import { dayIn } from '../sitters/sitters.days';
import { NotFound } from '../../errors';
import { consume, type CommunityDeps } from './community.deps';

export interface LikeState {
  likeCount: number;
  likedByMe: boolean;
}

/** Likers of one post committed together at most (one INSERT and one DELETE of this many rows). */
export const LIKE_BATCH_MAX = 500;

interface LikeOp {
  userId: number;
  like: boolean;
  resolve: (state: LikeState) => void;
  reject: (err: unknown) => void;
}

/**
 * Likes on posts and comments. PUT and DELETE are idempotent: the like is a row keyed by (target,
 * user), inserted with INSERT IGNORE, and the counter moves only by the rows really added or
 * removed, in the same transaction.
 *
 * A popular post is one hot row: one transaction per like queued every liker on its lock through a
 * commit each, and each waiter held a pool connection meanwhile, so a burst of 1000 likers outlasted
 * the pool's acquire timeout (503) on a busy machine. Likes of one post are therefore committed in
 * batches per instance (group commit): while a batch is in its transaction, new likers of that post
 * wait in memory, not in the pool, and the next batch takes them all in one transaction of a few
 * statements (one post-row lock and one commit for up to LIKE_BATCH_MAX likers). Each liker still
 * gets their own answer: 404 when they may not see the post, else the count after their batch.
 */
export class LikesService {
  private readonly queues = new Map<number, LikeOp[]>();

  constructor(
    private readonly d: CommunityDeps,
    private readonly limiter: RateLimiterRedis,
  ) {}

  async likePost(userId: number, postId: number, like: boolean): Promise<LikeState> {
    await consume(this.limiter, userId);
    return new Promise<LikeState>((resolve, reject) => {
      const queue = this.queues.get(postId);
      const op = { userId, like, resolve, reject };
      if (queue) {
        queue.push(op);
        return;
      }
      this.queues.set(postId, [op]);
      void this.drain(postId);
    });
  }

  /** Runs batches for one post until nobody waits; one batch in flight per post and instance. */
  private async drain(postId: number): Promise<void> {
    const queue = this.queues.get(postId)!;
    while (queue.length) {
      // One operation per user in a batch (a user's later PUT/DELETE waits for the next one, so
      // their calls apply in order), at most LIKE_BATCH_MAX.
      const batch: LikeOp[] = [];
      const users = new Set<number>();
      for (let i = 0; i < queue.length && batch.length < LIKE_BATCH_MAX;) {
        if (users.has(queue[i].userId)) {
          i++;
          continue;
        }
        users.add(queue[i].userId);
        batch.push(...queue.splice(i, 1));
      }
      try {
        await this.commitBatch(postId, batch);
      } catch (err) {
        for (const op of batch) op.reject(err);
      }
    }
    this.queues.delete(postId);
  }

  /** One transaction for a batch: visibility per liker, then the post's like rows and counters. */
  private async commitBatch(postId: number, batch: LikeOp[]): Promise<void> {
    const { d } = this;
    const result = await inTransaction(d.sequelize, async (t) => {
      // Plain reads first: nothing is locked until applyPostLikes' UPDATE of the post row.
      const post = await d.repo.findPost(postId, t);
      if (!post || post.deletedAt) return null;
      const candidates = batch.filter((op) => !post.hiddenAt || op.userId === post.authorId).map((op) => op.userId);
      const allowed = candidates.length
        ? await d.repo.usersNotBlocked(candidates, d.blocks.notBlockedSql('x.id', post.authorId), t)
        : new Set<number>();
      const ok = batch.filter((op) => allowed.has(op.userId));
      if (!ok.length) return { allowed, likeCount: 0 };
      const now = d.clock.now();
      const likeCount = await d.repo.applyPostLikes(
        postId,
        {
          like: ok.filter((op) => op.like).map((op) => op.userId),
          unlike: ok.filter((op) => !op.like).map((op) => op.userId),
        },
        now,
        (day) => dayIn(day, d.serviceTz),
        t,
      );
      if (likeCount === 'gone') throw NotFound('Post');
      return { allowed, likeCount };
    });
    for (const op of batch) {
      if (result && result.allowed.has(op.userId)) op.resolve({ likeCount: result.likeCount, likedByMe: op.like });
      else op.reject(NotFound('Post'));
    }
  }

  async likeComment(userId: number, commentId: number, like: boolean, comments: CommentLocker): Promise<LikeState> {
    await consume(this.limiter, userId);
    return inTransaction(this.d.sequelize, async (t) => {
      await comments.lockVisible(userId, commentId, t);
      const now = this.d.clock.now();
      if (like) await this.d.repo.addCommentLike(commentId, userId, now, t);
      else await this.d.repo.removeCommentLike(commentId, userId, t);
      return this.d.repo.commentLikeState(commentId, userId, t);
    });
  }
}

/** The comments service's locking read (post row, then comment row). */
export interface CommentLocker {
  lockVisible(userId: number, id: number, t: import('sequelize').Transaction): Promise<unknown>;
}
