import type { Sequelize, Transaction } from 'sequelize';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { consumePoint } from '../../http/rate-limit';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { GeoIndex } from '../../infra/geo';
import type { Outbox } from '../../infra/outbox';
import { NotFound } from '../../errors';
import type { UsersService } from '../users/users.service';
import type { ChatService } from '../chat/chat.service';
import type { NotificationsService } from '../notifications/notifications.service';
import type { Blocks } from '../safety/safety.service';
import type { MediaService } from '../media/media.service';
import type { CommunityRepository, FeedReads, PostBase } from './community.repository';

/** A signed-in caller as the feed sees them: the account and the login the token belongs to. */
export interface Caller {
  id: number;
  sessionId: number;
}

/**
 * The auth module's login check, for a statement that checks revocation itself (`revocation:
 * 'in-query'`): the condition to fold into it, and the check for when it answered no rows.
 */
export interface Logins {
  openSql(caller: Caller): { sql: string; replacements: unknown[] };
  requireOpen(caller: Caller): Promise<void>;
}

/** What the community services are built from (one set per app instance). */
export interface CommunityDeps {
  sequelize: Sequelize;
  repo: CommunityRepository;
  /** The feed's pages, on the hot-reads pool. */
  reads: FeedReads;
  logins: Logins;
  users: UsersService;
  chat: ChatService;
  notifications: NotificationsService;
  /** The safety module's block check. */
  blocks: Blocks;
  /** The one upload policy (render, store, delete after commit). */
  media: MediaService;
  geo: GeoIndex;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  serviceTz: string;
}

/** Consumes one point of a per-user limit; 429 with Retry-After past it. */
export const consume = (limiter: RateLimiterRedis, userId: number) => consumePoint(limiter, userId);

/**
 * The one visibility rule of a post: it exists, is not deleted, and neither side blocked the other;
 * a post hidden by reports is seen only by its author. Anything else is 404 (ids cannot be probed).
 * Inside a transaction, pass it: a second pool connection per request could starve the pool.
 */
export async function requireVisible<P extends PostBase>(
  d: Pick<CommunityDeps, 'blocks'>,
  post: P | null,
  viewerId: number,
  t?: Transaction,
): Promise<P> {
  if (!post || post.deletedAt) throw NotFound('Post');
  if (post.hiddenAt && post.authorId !== viewerId) throw NotFound('Post');
  if (await d.blocks.between(viewerId, post.authorId, t)) throw NotFound('Post');
  return post;
}
