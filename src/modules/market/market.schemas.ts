import Joi from 'joi';
import {
  latitude as lat,
  longitude as lng,
  latLng as location,
  cursorQuery,
  idParam,
  limitQuery,
  listOf,
  pageQuery,
  photoRefSchema,
  text,
  userRefSchema,
  type PageQuery,
} from '../../http/schemas';

export const CATEGORIES = ['food', 'toys', 'clothes', 'furniture', 'health', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];
export const STATUSES = ['on_sale', 'reserved', 'sold'] as const;
export type ListingStatus = (typeof STATUSES)[number];
export const SORTS = ['distance', 'recent', 'price'] as const;
export type MarketSort = (typeof SORTS)[number];

export const MAX_PRICE = 100_000_000;
export const MAX_PHOTOS = 10;
export const MAX_NEARBY_KM = 20;
export const MAX_QUERY_CHARS = 100;
/** Listings one seller may have on sale at once. */
export const MAX_ON_SALE = 50;

const price = Joi.number().integer().min(0).max(MAX_PRICE);

export interface CreateListingInput {
  title: string;
  description: string;
  category: Category;
  price: number;
  location: { lat: number; lng: number };
  address: string;
}
export type UpdateListingInput = Partial<CreateListingInput>;

export const createListingBody = Joi.object<CreateListingInput, true>({
  title: text(1, 60).required(),
  description: text(0, 5000).allow('').default(''),
  category: Joi.string()
    .valid(...CATEGORIES)
    .required(),
  price: price.required().description('KRW; 0 = free'),
  location: location.required(),
  address: text(1, 200).required(),
});

export const updateListingBody = Joi.object<UpdateListingInput, true>({
  title: text(1, 60),
  description: text(0, 5000).allow(''),
  category: Joi.string().valid(...CATEGORIES),
  price: price.description('lowering it notifies those who favourited the listing (market.price_drop)'),
  location,
  address: text(1, 200),
}).min(1);

export interface NearbyQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  category?: Category;
  q?: string;
  minPrice?: number;
  maxPrice?: number;
  status: ListingStatus;
  sort: MarketSort;
  limit: number;
  cursor?: string;
}

export const nearbyQuery = Joi.object<NearbyQuery, true>({
  lat: lat.required(),
  lng: lng.required(),
  radiusKm: Joi.number().greater(0).max(MAX_NEARBY_KM).default(3),
  category: Joi.string().valid(...CATEGORIES),
  q: Joi.string()
    .trim()
    .min(1)
    .max(MAX_QUERY_CHARS)
    .description('words of the title and description; each matches words that start with it (Korean and English)'),
  minPrice: price,
  maxPrice: price,
  status: Joi.string()
    .valid(...STATUSES)
    .default('on_sale'),
  sort: Joi.string()
    .valid(...SORTS)
    .default('distance'),
  limit: limitQuery,
  cursor: cursorQuery,
});

export interface MineQuery extends PageQuery {
  status?: ListingStatus;
}
export const mineQuery = Joi.object<MineQuery, true>({
  status: Joi.string().valid(...STATUSES),
  limit: limitQuery,
  cursor: cursorQuery,
});
export { pageQuery };

export interface OfferInput {
  message?: string | null;
  price?: number | null;
}
export const offerBody = Joi.object<OfferInput, true>({
  message: text(1, 1000).allow(null),
  price: price.allow(null).description('the price the buyer proposes, KRW'),
});

export const buyerBody = Joi.object<{ buyerId: number }, true>({ buyerId: idParam });

export interface ReviewInput {
  rating: number;
  comment?: string | null;
}
export const reviewBody = Joi.object<ReviewInput, true>({
  rating: Joi.number().integer().min(1).max(5).required(),
  comment: text(1, 1000).allow(null),
});

export const photoParams = Joi.object<{ id: number; photoId: number }, true>({ id: idParam, photoId: idParam });

// --- responses (OpenAPI) -------------------------------------------------------------------------

export const publicUser = userRefSchema;
export const photoSchema = photoRefSchema;

export const listingSchema = Joi.object({
  id: Joi.number().integer().required(),
  seller: publicUser.required(),
  title: Joi.string().required(),
  description: Joi.string().allow('').required(),
  category: Joi.string()
    .valid(...CATEGORIES)
    .required(),
  price: Joi.number().integer().required().description('KRW; 0 = free'),
  status: Joi.string()
    .valid(...STATUSES)
    .required(),
  photos: Joi.array().items(photoSchema).required(),
  location: Joi.object({ lat: Joi.number().required(), lng: Joi.number().required() }).required(),
  address: Joi.string().required(),
  favoriteCount: Joi.number().integer().required(),
  favoritedByMe: Joi.boolean().required(),
  offerCount: Joi.number().integer().required(),
  buyerId: Joi.number().integer().allow(null).required().description('null unless I am the seller or that buyer'),
  deleted: Joi.boolean().required().description('true only for the two parties of a sold listing the seller deleted'),
  createdAt: Joi.string().isoDate().required(),
  updatedAt: Joi.string().isoDate().required(),
});
export const nearbyItemSchema = listingSchema.keys({ distanceKm: Joi.number().required() });

export const favoriteSchema = Joi.object({
  favoriteCount: Joi.number().integer().required(),
  favoritedByMe: Joi.boolean().required(),
});

export const offerSchema = Joi.object({
  id: Joi.number().integer().required(),
  listingId: Joi.number().integer().required(),
  buyer: publicUser.required(),
  price: Joi.number().integer().allow(null).required(),
  message: Joi.string().allow(null).required(),
  createdAt: Joi.string().isoDate().required(),
  chatRoomId: Joi.number().integer().required(),
});

export const reviewSchema = Joi.object({
  id: Joi.number().integer().required(),
  listingId: Joi.number().integer().required(),
  authorId: Joi.number().integer().required(),
  subjectId: Joi.number().integer().required(),
  rating: Joi.number().integer().min(1).max(5).required(),
  comment: Joi.string().allow(null).required(),
  createdAt: Joi.string().isoDate().required(),
});

export const tradeRatingSchema = Joi.object({
  average: Joi.number().allow(null).required().description('two decimals; null without reviews'),
  count: Joi.number().integer().required(),
});

export const listingListSchema = listOf(listingSchema);
export const nearbyListSchema = listOf(nearbyItemSchema);
export const offerListSchema = listOf(offerSchema);
export const reviewListSchema = Joi.object({ items: Joi.array().items(reviewSchema).required() });
