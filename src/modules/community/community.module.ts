import { GeoIndex } from '../../infra/geo';
import { CLAIM_TX, inTransaction } from '../../infra/db';
import { imageUpload } from '../../http/upload';
import { redisLimiter } from '../../http/rate-limit';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { addDays, dayIn } from '../sitters/sitters.days';
import { CommunityRepository, FeedReads } from './community.repository';
import type { CommunityDeps } from './community.deps';
import { PostsService, TOPIC_GEO_POST, type GeoPostChange } from './community.posts';
import { CommentsService } from './community.comments';
import { LikesService } from './community.likes';
import { FeedService } from './community.feed';
import { communityRoutes } from './community.router';

/** Per-user rate limits (documented in the README and each route's summary). */
export const LIMITS = {
  posts: { points: 20, durationSec: 3600, text: '20 posts per hour' },
  comments: { points: 60, durationSec: 600, text: '60 comments per 10 minutes' },
  likes: { points: 300, durationSec: 60, text: '300 likes or unlikes per minute' },
};
/** Days in the `popular` window: today and the 6 before (SERVICE_TZ). */
export const POPULAR_DAYS = 7;
const EXPIRE_BATCH = 500;

/** The geo index of posts, as every instance and the reindex CLI address it. */
export const postsGeoIndex = (ctx: Pick<ModuleContext, 'redis' | 'config'>) =>
  new GeoIndex(ctx.redis, ctx.config.redisPrefix, 'posts', { cursorSecret: ctx.config.jwtSecret });

/** The community module's services, published as `services.community`. */
export interface CommunityServices {
  posts: PostsService;
  comments: CommentsService;
  likes: LikesService;
  feed: FeedService;
  /** Drops activity buckets that left the 7-day window (the sweep; tests call it). */
  expireActivity(): Promise<number>;
}

/**
 * Community (issue 15): posts, photos, comments and replies, likes, the feed, nearby posts, search,
 * open post chats. Uses chat, notifications and safety.
 */
export function createCommunityModule(ctx: ModuleContext, services: Services): FeatureModule<'community'> {
  const { media, safety, auth } = services;
  const repo = new CommunityRepository(ctx.sequelize);
  const d: CommunityDeps = {
    sequelize: ctx.sequelize,
    repo,
    reads: new FeedReads(ctx.hotReads),
    logins: { openSql: (caller) => auth.openLoginSql(caller), requireOpen: (caller) => auth.requireOpenLogin(caller) },
    users: services.users,
    chat: services.chat,
    notifications: services.notifications,
    blocks: safety.blocks,
    media,
    geo: postsGeoIndex(ctx),
    outbox: ctx.outbox,
    clock: ctx.clock,
    logger: ctx.logger,
    serviceTz: ctx.config.serviceTz,
  };
  const limiter = (name: keyof typeof LIMITS) =>
    redisLimiter(ctx.redis, `${ctx.config.redisPrefix}rl:${name}`, LIMITS[name].points, LIMITS[name].durationSec);
  const posts = new PostsService(d, limiter('posts'));
  const comments = new CommentsService(d, limiter('comments'));
  const likes = new LikesService(d, limiter('likes'));
  const feed = new FeedService(d, posts);

  const expireActivity = async () => {
    const firstDay = addDays(dayIn(ctx.clock.now(), ctx.config.serviceTz), -(POPULAR_DAYS - 1));
    let total = 0;
    for (;;) {
      const n = await inTransaction(ctx.sequelize, (t) => repo.expireActivity(firstDay, EXPIRE_BATCH, t), 4, CLAIM_TX);
      total += n;
      if (n < EXPIRE_BATCH) return total;
    }
  };

  safety.registerTarget('post', {
    find: async (id, viewerId) => {
      try {
        return { ownerId: (await posts.get(viewerId, id)).author.id };
      } catch {
        return null;
      }
    },
    setHidden: (id, hidden, t) => posts.setHiddenInTx(id, hidden, t),
    remove: (id, t) => posts.removeInTx(id, t),
  });
  safety.registerTarget('comment', {
    find: async (id, viewerId) => {
      try {
        const c = await comments.findVisible(viewerId, id);
        return c.deletedAt ? null : { ownerId: c.authorId };
      } catch {
        return null;
      }
    },
    setHidden: (id, hidden, t) => comments.setHiddenInTx(id, hidden, t),
    remove: (id, t) => comments.removeInTx(id, t),
  });

  let healing: Promise<unknown> = Promise.resolve();
  const heal = () => {
    healing = posts
      .healGeoIndex()
      .catch((err) => ctx.logger.error({ err: (err as Error).message }, 'could not rebuild the posts geo index'));
  };
  const service: CommunityServices = { posts, comments, likes, feed, expireActivity };
  return {
    name: 'community',
    service,
    routes: communityRoutes({
      posts,
      comments,
      likes,
      feed,
      upload: imageUpload(media),
      limits: { posts: LIMITS.posts.text, comments: LIMITS.comments.text, likes: LIMITS.likes.text },
    }),
    outboxHandlers: {
      [TOPIC_GEO_POST]: (payload: GeoPostChange) => posts.applyGeo(payload),
    },
    geoIndexes: [d.geo],
    start() {
      heal();
      ctx.redis.on('ready', heal);
    },
    async stop() {
      ctx.redis.off('ready', heal);
      await healing;
    },
    async sweep() {
      await posts.healGeoIndex();
      return expireActivity();
    },
  };
}
