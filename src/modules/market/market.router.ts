import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { uploadedFile } from '../../http/upload';
import { idParams } from '../../http/schemas';
import type { ListingsService } from './market.listings';
import type { FavoritesService } from './market.favorites';
import type { TradeService, Move } from './market.trade';
import type { MarketSearch } from './market.search';
import * as s from './market.schemas';

const tag = 'Market';

export interface MarketRouteDeps {
  listings: ListingsService;
  favorites: FavoritesService;
  trade: TradeService;
  search: MarketSearch;
  upload: RequestHandler[];
  limits: { listings: string; offers: string; favorites: string };
}

/**
 * API.md v1.1 "Market". `/market/listings/nearby` and `/mine` come before `/market/listings/:id`,
 * whose id validation would otherwise answer them with a 400. Every route needs a login.
 */
export function marketRoutes(c: MarketRouteDeps): RouteSpec[] {
  const { listings, favorites, trade, search } = c;
  const moveRoute = (move: Move, summary: string) =>
    defineRoute({
      method: 'post',
      path: `/market/listings/:id/${move}`,
      operationId: `${move}Listing`,
      tag,
      auth: true,
      params: idParams,
      ...(move === 'reopen' ? {} : { body: s.buyerBody }),
      summary,
      responses: { 200: { description: 'The listing', schema: s.listingSchema } },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await trade.move(user.id, params.id, move, (body as { buyerId?: number } | undefined)?.buyerId ?? null),
      }),
    });
  return [
    defineRoute({
      method: 'get',
      path: '/market/listings/nearby',
      operationId: 'searchListingsNearby',
      tag,
      auth: true,
      query: s.nearbyQuery,
      summary: `Listings within radiusKm (≤ ${s.MAX_NEARBY_KM}, default 3; more → 400), exact like sitter search, with distanceKm. Filters category, q (each word matches words that start with it, Korean and English, all required), minPrice, maxPrice, status (default on_sale). sort=distance (nearest first, default), recent (newest first) or price (cheapest first); ties by id. Blocked sellers, deleted and report-hidden listings never appear`,
      responses: { 200: { description: 'One page of listings with distanceKm', schema: s.nearbyListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await search.nearby(user.id, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/market/listings/mine',
      operationId: 'listMyListings',
      tag,
      auth: true,
      query: s.mineQuery,
      summary: 'My listings (optionally of one status), newest first; deleted ones are gone',
      responses: { 200: { description: 'One page of listings', schema: s.listingListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await search.mine(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/market/listings',
      operationId: 'createListing',
      tag,
      auth: true,
      body: s.createListingBody,
      summary: `Sell something (title 1–60, description ≤ 5000, price 0–${s.MAX_PRICE} KRW with 0 = free, category, location, address). At most ${s.MAX_ON_SALE} listings on sale per seller (409). Rate limit: ${c.limits.listings}`,
      responses: { 201: { description: 'The listing', schema: s.listingSchema } },
      handler: async ({ user, body }) => ({ status: 201, body: await listings.create(user.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/market/listings/:id',
      operationId: 'getListing',
      tag,
      auth: true,
      params: idParams,
      summary:
        'A listing; sold and reserved ones stay readable. 404 once deleted (a sold one stays readable by its seller and buyer), and between users on either side of a block',
      responses: { 200: { description: 'The listing', schema: s.listingSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await listings.get(user.id, params.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/market/listings/:id',
      operationId: 'updateListing',
      tag,
      auth: true,
      params: idParams,
      body: s.updateListingBody,
      summary:
        'Edit my listing (seller; others 403; sold → 409). A lower price notifies those who favourited it (market.price_drop, sent in batches after the answer)',
      responses: { 200: { description: 'The listing', schema: s.listingSchema } },
      handler: async ({ user, params, body }) => ({
        status: 200,
        body: await listings.update(user.id, params.id, body),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/market/listings/:id',
      operationId: 'deleteListing',
      tag,
      auth: true,
      params: idParams,
      summary:
        'Delete my listing (seller; others 403): it leaves every list. A sold listing stays readable by its seller and buyer, with its reviews and trade chats',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await listings.delete(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/market/listings/:id/photos',
      operationId: 'addListingPhoto',
      tag,
      auth: true,
      params: idParams,
      upload: { field: 'image' },
      before: c.upload,
      summary: `Add a photo to my listing (multipart field image, ≤ 10 MB, ≤ ${s.MAX_PHOTOS} per listing, else 409; sold → 409): a 1600 px WebP and a 320 px thumbnail`,
      responses: { 201: { description: 'Stored', schema: s.photoSchema } },
      handler: async ({ user, params, req }) => ({
        status: 201,
        body: await listings.addPhoto(user.id, params.id, uploadedFile(req)),
      }),
    }),
    defineRoute({
      method: 'delete',
      path: '/market/listings/:id/photos/:photoId',
      operationId: 'deleteListingPhoto',
      tag,
      auth: true,
      params: s.photoParams,
      summary: 'Delete a photo of my listing (its files leave storage after the commit)',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await listings.deletePhoto(user.id, params.id, params.photoId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/market/listings/:id/favorite',
      operationId: 'favoriteListing',
      tag,
      auth: true,
      params: idParams,
      summary: `Favourite a listing (idempotent); a later price drop notifies me. Rate limit: ${c.limits.favorites}`,
      responses: { 200: { description: 'The count and my favourite', schema: s.favoriteSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await favorites.set(user.id, params.id, true) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/market/listings/:id/favorite',
      operationId: 'unfavoriteListing',
      tag,
      auth: true,
      params: idParams,
      summary: `Unfavourite a listing (idempotent). Rate limit: ${c.limits.favorites}`,
      responses: { 200: { description: 'The count and my favourite', schema: s.favoriteSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await favorites.set(user.id, params.id, false) }),
    }),
    defineRoute({
      method: 'get',
      path: '/market/favorites',
      operationId: 'listMyFavorites',
      tag,
      auth: true,
      query: s.pageQuery,
      summary: 'My favourites, most recently favourited first (deleted listings and blocked sellers left out)',
      responses: { 200: { description: 'One page of listings', schema: s.listingListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await favorites.list(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/market/listings/:id/offers',
      operationId: 'makeOffer',
      tag,
      auth: true,
      params: idParams,
      body: s.offerBody,
      summary: `Make an offer (anyone but the seller, 403; sold → 409; a blocked pair → 409): opens or reuses my listing chat room with the seller (one per listing and buyer) and notifies the seller (market.offer). Rate limit: ${c.limits.offers}`,
      responses: { 201: { description: 'The offer', schema: s.offerSchema } },
      handler: async ({ user, params, body }) => ({ status: 201, body: await trade.offer(user.id, params.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/market/listings/:id/offers',
      operationId: 'listOffers',
      tag,
      auth: true,
      params: idParams,
      query: s.pageQuery,
      summary: 'The offers on my listing, oldest first (seller only; anyone else 404)',
      responses: { 200: { description: 'One page of offers', schema: s.offerListSchema } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await trade.offers(user.id, params.id, query),
      }),
    }),
    moveRoute(
      'reserve',
      'Reserve for a buyer who made an offer (seller; on_sale → reserved; any other state 409; a buyer without an offer → 400 on body.buyerId)',
    ),
    moveRoute(
      'sell',
      'Mark sold to a buyer who made an offer (seller; on_sale or reserved → sold; a reserved listing sells to its reserved buyer; any other move 409; of concurrent sells exactly one wins). Notifies the buyer (market.sold)',
    ),
    moveRoute('reopen', 'Put a reserved listing back on sale (seller; reserved → on_sale; any other state 409)'),
    defineRoute({
      method: 'post',
      path: '/market/listings/:id/review',
      operationId: 'reviewTrade',
      tag,
      auth: true,
      params: idParams,
      body: s.reviewBody,
      summary:
        'Review the other party of a sold listing (seller reviews the buyer, buyer the seller; once each, a second 409; before sold 409; anyone else 403)',
      responses: { 201: { description: 'The review', schema: s.reviewSchema } },
      handler: async ({ user, params, body }) => ({ status: 201, body: await trade.review(user.id, params.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/market/listings/:id/reviews',
      operationId: 'listTradeReviews',
      tag,
      auth: true,
      params: idParams,
      summary: "The trade's reviews (its seller and buyer only; anyone else 404)",
      responses: { 200: { description: 'At most two reviews', schema: s.reviewListSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await trade.reviews(user.id, params.id) }),
    }),
    defineRoute({
      method: 'get',
      path: '/users/:id/trade-rating',
      operationId: 'getTradeRating',
      tag,
      auth: true,
      params: idParams,
      summary: "A user's rating from market trade reviews: average (2 decimals, null without reviews) and count",
      responses: { 200: { description: 'The rating', schema: s.tradeRatingSchema } },
      handler: async ({ params }) => ({ status: 200, body: await trade.tradeRating(params.id) }),
    }),
  ];
}
