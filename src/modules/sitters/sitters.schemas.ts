import Joi from 'joi';
import {
  calendarDay,
  cursorQuery,
  idParams,
  latitude as lat,
  latLng,
  limitQuery,
  listOf,
  longitude as lng,
  pageQuery,
  publicUserSchema,
  text,
} from '../../http/schemas';
import type { SitterInput } from './sitters.service';
import type { SearchQuery } from './sitters.search';
import type { MapQuery } from './sitters.map';

export const SERVICES = ['boarding', 'daycare', 'walking', 'drop_in'] as const;
export const SIZES = ['small', 'medium', 'large'] as const;
export type Service = (typeof SERVICES)[number];
export type PetSize = (typeof SIZES)[number];
export const SORTS = ['distance', 'rating', 'price'] as const;
export type SearchSort = (typeof SORTS)[number];

export const MAX_PRICE = 10_000_000;
export const MAX_RADIUS_KM = 50;
export const MAX_UNAVAILABLE_DATES = 366;
export const MAX_RANGE_DAYS = 366;

export const day = calendarDay;

const price = Joi.number().integer().min(1).max(MAX_PRICE);

/**
 * A price is required for every listed service and refused for the others, each error naming its
 * own field (`body.prices.walking`).
 */
const priceFor = (service: Service) =>
  price.when('...services', {
    is: Joi.array().has(service),
    then: Joi.required(),
    otherwise: Joi.forbidden().messages({
      'any.unknown': '{{#label}} is not allowed for a service that is not listed',
    }),
  });

export const putSitterBody = Joi.object<SitterInput, true>({
  headline: text(1, 80).required(),
  bio: text(0, 2000).allow('').default(''),
  services: Joi.array()
    .items(Joi.string().valid(...SERVICES))
    .min(1)
    .max(SERVICES.length)
    .unique()
    .required(),
  prices: Joi.object(Object.fromEntries(SERVICES.map((s) => [s, priceFor(s)]))).required(),
  acceptedSizes: Joi.array()
    .items(Joi.string().valid(...SIZES))
    .min(1)
    .max(SIZES.length)
    .unique()
    .required(),
  maxPets: Joi.number().integer().min(1).max(10).required(),
  location: latLng.required(),
  address: text(1, 200).required(),
});

export const unavailableDatesBody = Joi.object<{ dates: string[] }, true>({
  dates: Joi.array().items(day).max(MAX_UNAVAILABLE_DATES).unique().required(),
});

export const searchQuery = Joi.object<SearchQuery, true>({
  lat: lat.required().description('latitude of the centre, within ±85.05 (Redis GEO range)'),
  lng: lng.required().description('longitude of the centre, within ±180'),
  radiusKm: Joi.number()
    .greater(0)
    .max(MAX_RADIUS_KM)
    .default(5)
    .description('≤ 50 km; sitters within a few metres of the edge may go either way'),
  service: Joi.string()
    .valid(...SERVICES)
    .description('only sitters offering it; price filters and sort=price then use its price'),
  petSize: Joi.string().valid(...SIZES),
  minPrice: Joi.number()
    .integer()
    .min(0)
    .max(MAX_PRICE)
    .description("KRW; the price of `service`, else the sitter's lowest price"),
  maxPrice: Joi.number().integer().min(0).max(MAX_PRICE).description('KRW, ≥ minPrice'),
  minRating: Joi.number().min(1).max(5).description('unrated sitters are left out'),
  from: day.description('first day the sitter must be free (today or later, SERVICE_TZ)'),
  to: day.description('last day (inclusive, default `from`); at most 366 days from `from`'),
  sort: Joi.string()
    .valid(...SORTS)
    .default('distance')
    .description('distance: nearest first; rating: highest first, unrated last; price: cheapest first; ties by id'),
  limit: limitQuery,
  cursor: cursorQuery.description('nextCursor of the previous page, with the same query'),
});

export const reviewsQuery = pageQuery;

export const photoParams = idParams;

// --- responses (OpenAPI) -------------------------------------------------------------------------

const locationSchema = Joi.object({ lat: Joi.number().required(), lng: Joi.number().required() });
/** Only the services the sitter offers have a price (the others are absent, not null). */
const pricesSchema = Joi.object(Object.fromEntries(SERVICES.map((s) => [s, Joi.number().integer().optional()])));

export const photoSchema = Joi.object({
  id: Joi.number().integer().required(),
  url: Joi.string().required(),
  thumbnailUrl: Joi.string().required(),
});

export const sitterSchema = Joi.object({
  id: Joi.number().integer().required(),
  userId: Joi.number().integer().required(),
  nickname: Joi.string().required(),
  avatarUrl: Joi.string().allow(null).required(),
  headline: Joi.string().required(),
  bio: Joi.string().allow('').required(),
  services: Joi.array()
    .items(Joi.string().valid(...SERVICES))
    .required(),
  prices: pricesSchema.required(),
  acceptedSizes: Joi.array()
    .items(Joi.string().valid(...SIZES))
    .required(),
  maxPets: Joi.number().integer().required(),
  location: locationSchema.required(),
  address: Joi.string().required(),
  rating: Joi.number().allow(null).description('average of the reviews, null while there is none').required(),
  reviewCount: Joi.number().integer().required(),
  photos: Joi.array().items(photoSchema).required(),
  ratingSummary: Joi.object({
    average: Joi.number().allow(null).required(),
    count: Joi.number().integer().required(),
    distribution: Joi.object(
      Object.fromEntries(['1', '2', '3', '4', '5'].map((k) => [k, Joi.number().integer().required()])),
    ).required(),
  }).required(),
  createdAt: Joi.string().isoDate().required(),
  updatedAt: Joi.string().isoDate().required(),
});

/** The owner's own profile also says whether it is still listed. */
export const ownSitterSchema = sitterSchema.keys({
  active: Joi.boolean().description('false once the sitter left (only the owner sees an inactive profile)').required(),
});

export const searchItemSchema = Joi.object({
  id: Joi.number().integer().required(),
  userId: Joi.number().integer().required(),
  nickname: Joi.string().required(),
  headline: Joi.string().required(),
  avatarUrl: Joi.string().allow(null).required(),
  distanceKm: Joi.number().description('Redis GEO haversine distance, 4 decimals').required(),
  rating: Joi.number().allow(null).required(),
  reviewCount: Joi.number().integer().required(),
  prices: pricesSchema.required(),
  services: Joi.array().items(Joi.string()).required(),
  location: locationSchema.required(),
});

export const mapQuery = Joi.object<MapQuery, true>({
  minLat: lat.required().description('south edge of the viewport'),
  minLng: lng.required().description('west edge; greater than maxLng when the viewport crosses the antimeridian'),
  maxLat: lat.required().description('north edge, ≥ minLat'),
  maxLng: lng.required().description('east edge'),
  zoom: Joi.number()
    .integer()
    .min(0)
    .max(20)
    .required()
    .description('the map zoom level: the higher, the finer the clusters'),
  service: Joi.string().valid(...SERVICES),
  petSize: Joi.string().valid(...SIZES),
});

export const mapMarkerSchema = Joi.object({
  lat: Joi.number().required(),
  lng: Joi.number().required(),
  count: Joi.number().integer().min(1).required(),
  sitterId: Joi.number()
    .integer()
    .allow(null)
    .required()
    .description('the sitter when the marker is one (at its public point, ≈ 220 m from the home); null for a cluster'),
});

export const mapSchema = Joi.object({ items: Joi.array().items(mapMarkerSchema).max(500).required() });

export const datesSchema = Joi.object({ dates: Joi.array().items(Joi.string()).required() });

export const reviewSchema = Joi.object({
  id: Joi.number().integer().required(),
  rating: Joi.number().integer().min(1).max(5).required(),
  comment: Joi.string().allow(null).required(),
  author: publicUserSchema.required(),
  createdAt: Joi.string().isoDate().required(),
});

export const searchResultSchema = listOf(searchItemSchema);
export const reviewListSchema = listOf(reviewSchema);
