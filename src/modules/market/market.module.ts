import { GeoIndex } from '../../infra/geo';
import { healGeoIndex, healInBackground, type HealableIndex } from '../../infra/geo-heal';
import { imageUpload } from '../../http/upload';
import { redisLimiter } from '../../http/rate-limit';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { MarketRepository } from './market.repository';
import type { MarketDeps } from './market.deps';
import { ListingsService, TOPIC_GEO_LISTING, TOPIC_PRICE_DROP } from './market.listings';
import { FavoritesService } from './market.favorites';
import { TradeService } from './market.trade';
import { MarketSearch } from './market.search';
import { marketRoutes } from './market.router';

/** Per-user rate limits (documented in the README and each route's summary). */
export const LIMITS = {
  listings: { points: 20, durationSec: 3600, text: '20 new listings per hour' },
  offers: { points: 30, durationSec: 600, text: '30 offers per 10 minutes' },
  favorites: { points: 300, durationSec: 60, text: '300 favourites or unfavourites per minute' },
};

/** The geo index of listings, as every instance and the reindex CLI address it. */
export const listingsGeoIndex = (ctx: Pick<ModuleContext, 'redis' | 'config'>) =>
  new GeoIndex(ctx.redis, ctx.config.redisPrefix, 'listings', { cursorSecret: ctx.config.jwtSecret });

/** The market module's services, published as `services.market`. */
export interface MarketServices {
  listings: ListingsService;
  favorites: FavoritesService;
  trade: TradeService;
  search: MarketSearch;
}

/**
 * Market (issue 16): listings of used pet goods near you, favourites with price-drop alerts, offers
 * with a trade chat per buyer, the seller's reserve/sell state machine, trade reviews. Uses chat,
 * notifications, safety and media.
 */
export function createMarketModule(ctx: ModuleContext, services: Services): FeatureModule<'market'> {
  const { media, safety } = services;
  const repo = new MarketRepository(ctx.sequelize);
  const d: MarketDeps = {
    sequelize: ctx.sequelize,
    repo,
    users: services.users,
    chat: services.chat,
    notifications: services.notifications,
    blocks: safety.blocks,
    media,
    geo: listingsGeoIndex(ctx),
    outbox: ctx.outbox,
    clock: ctx.clock,
    logger: ctx.logger,
  };
  const limiter = (name: keyof typeof LIMITS) =>
    redisLimiter(
      ctx.redis,
      `${ctx.config.redisPrefix}rl:market-${name}`,
      LIMITS[name].points,
      LIMITS[name].durationSec,
    );
  const listings = new ListingsService(d, limiter('listings'));
  const favorites = new FavoritesService(d, listings, limiter('favorites'));
  const trade = new TradeService(d, listings, limiter('offers'));
  const search = new MarketSearch(d, listings);

  safety.registerTarget('listing', {
    find: async (id, viewerId) => {
      try {
        const l = await listings.get(viewerId, id);
        return l.deleted ? null : { ownerId: l.seller.id };
      } catch {
        return null;
      }
    },
    setHidden: (id, hidden, t) => listings.setHiddenInTx(id, hidden, t),
    remove: (id, t) => listings.removeInTx(id, t),
  });

  const index: HealableIndex = {
    name: 'listings',
    geo: d.geo,
    expected: () => repo.countIndexed(),
    rebuild: () => listings.reindexGeo(),
  };
  const healer = healInBackground(ctx.redis, index, ctx.logger);
  const service: MarketServices = { listings, favorites, trade, search };
  return {
    name: 'market',
    service,
    routes: marketRoutes({
      listings,
      favorites,
      trade,
      search,
      upload: imageUpload(media),
      limits: { listings: LIMITS.listings.text, offers: LIMITS.offers.text, favorites: LIMITS.favorites.text },
    }),
    outboxHandlers: {
      [TOPIC_GEO_LISTING]: (change) => listings.applyGeo(change),
      [TOPIC_PRICE_DROP]: async ({ dropId }) => {
        await favorites.fanOutPriceDrop(dropId);
      },
    },
    events: {
      /**
       * A deleted account's unsold listings are deleted (photos and geo entry go); its sold ones stay
       * for their buyers' history. Its favourites go (counts follow); listings reserved for it go back
       * on sale. Its offers, reviews and trade chats stay, shown as a deleted user.
       */
      'account.deleted': async ({ userId }, t) => {
        for (const id of await repo.unsoldOf(userId, t)) await listings.removeInTx(id, t);
        await repo.removeFavoritesOf(userId, t);
        await repo.releaseReservationsOf(userId, ctx.clock.now(), t);
      },
    },
    start: () => healer.start(),
    stop: () => healer.stop(),
    geoIndexes: [d.geo],
    sweep: () => healGeoIndex(index, ctx.logger),
  };
}
