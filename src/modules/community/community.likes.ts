import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import { dayIn } from '../sitters/sitters.days';
import { NotFound } from '../../errors';
import { consume, requireVisible, type CommunityDeps } from './community.deps';

export interface LikeState {
  likeCount: number;
  likedByMe: boolean;
}

/**
 * Likes on posts and comments. PUT and DELETE are idempotent: the like is a row keyed by (target,
 * user), inserted with INSERT IGNORE, and the counter moves only when a row was really added or
 * removed, in the same transaction. The post's row is locked by its counter UPDATE, as late as
 * possible, so 1000 likers of one post queue on it only for the last statements and the commit.
 */
export class LikesService {
  constructor(
    private readonly d: CommunityDeps,
    private readonly limiter: RateLimiterRedis,
  ) {}

  async likePost(userId: number, postId: number, like: boolean): Promise<LikeState> {
    await consume(this.limiter, userId);
    return inTransaction(this.d.sequelize, async (t) => {
      // Visibility (and blocks) by plain reads: nothing is locked yet. One connection per request.
      await requireVisible(this.d, await this.d.repo.findPost(postId, t), userId, t);
      const now = this.d.clock.now();
      if (like) {
        if ((await this.d.repo.addPostLike(postId, userId, now, dayIn(now, this.d.serviceTz), t)) === 'gone')
          throw NotFound('Post');
      } else {
        await this.d.repo.removePostLike(postId, userId, (d) => dayIn(d, this.d.serviceTz), t);
      }
      return this.d.repo.postLikeState(postId, userId, t);
    });
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
