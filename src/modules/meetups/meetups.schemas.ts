import Joi from 'joi';
import { latitude as lat, longitude as lng, latLng as location } from '../../http/schemas';
import { cursorQuery, idParam, limitQuery, listOf, publicUserSchema, text } from '../../http/schemas';
import type { CreateInput, UpdateInput } from './meetups.service';
import type { NearbyQuery } from './meetups.search';

/** Tags any client can offer as chips; up to MAX_FREE_TAGS others may be added. */
export const TAG_VOCABULARY = [
  'walk',
  'run',
  'playdate',
  'training',
  'puppy',
  'small-dogs',
  'large-dogs',
  'cats',
] as const;
export const MAX_FREE_TAGS = 5;
export const PET_SIZES = ['small', 'medium', 'large'] as const;
export type PetSize = (typeof PET_SIZES)[number];
export const SORTS = ['distance', 'startsAt'] as const;
export type NearbySort = (typeof SORTS)[number];

export const MAX_RADIUS_KM = 50;
export const MIN_CAPACITY = 2;
export const MAX_CAPACITY = 100;
export const MAX_DURATION_MS = 12 * 3600 * 1000;
export const DEFAULT_DURATION_MS = 3 * 3600 * 1000;
/** How far ahead a meetup may be planned. */
export const MAX_AHEAD_MS = 366 * 24 * 3600 * 1000;
export const MAX_ATTENDANCE_IDS = MAX_CAPACITY;

/** Lower-case letters (any script), digits and single hyphens: safe as a chip and a search key. */
const tag = Joi.string()
  .trim()
  .lowercase()
  .min(1)
  .max(20)
  .pattern(/^[\p{L}\p{N}]+(-[\p{L}\p{N}]+)*$/u, { name: 'letters, digits and hyphens' });

const tags = Joi.array()
  .items(tag)
  .unique()
  .max(TAG_VOCABULARY.length + MAX_FREE_TAGS)
  .custom((value: string[], helpers) => {
    const free = value.filter((t) => !(TAG_VOCABULARY as readonly string[]).includes(t));
    if (free.length > MAX_FREE_TAGS) return helpers.error('tags.free');
    return value;
  })
  .messages({
    'tags.free': `{{#label}} may hold at most ${MAX_FREE_TAGS} tags outside the vocabulary (${TAG_VOCABULARY.join(', ')})`,
  })
  .description(
    `any of ${TAG_VOCABULARY.join(', ')}, plus at most ${MAX_FREE_TAGS} free tags (1–20 letters, digits, hyphens; lower-cased)`,
  );

const petSizes = Joi.array()
  .items(Joi.string().valid(...PET_SIZES))
  .min(1)
  .unique()
  .description('pet sizes welcome (default: all)');
// Bounded so that no date reaches MySQL outside what DATETIME holds (a driver error would be a 500).
const isoDate = Joi.date().iso().min('2000-01-01T00:00:00Z').max('9999-12-31T00:00:00Z');

export const createBody = Joi.object<CreateInput, true>({
  title: text(1, 80).required(),
  description: text(0, 2000).allow('').default(''),
  location: location.required(),
  address: text(1, 200).required(),
  startsAt: isoDate.required().description('in the future'),
  endsAt: isoDate.description('after startsAt, at most 12 h later; default startsAt + 3 h'),
  capacity: Joi.number()
    .integer()
    .min(MIN_CAPACITY)
    .max(MAX_CAPACITY)
    .required()
    .description('participants including the host'),
  tags: tags.default([]),
  petSizes: petSizes.default([...PET_SIZES]),
});

export const updateBody = Joi.object<UpdateInput, true>({
  title: text(1, 80),
  description: text(0, 2000).allow(''),
  location,
  address: text(1, 200),
  startsAt: isoDate,
  endsAt: isoDate,
  capacity: Joi.number().integer().min(MIN_CAPACITY).max(MAX_CAPACITY),
  tags,
  petSizes,
}).min(1);

export const nearbyQuery = Joi.object<NearbyQuery, true>({
  lat: lat.required(),
  lng: lng.required(),
  radiusKm: Joi.number().greater(0).max(MAX_RADIUS_KM).default(5),
  from: isoDate.description('earliest start (default and minimum: now)'),
  to: isoDate.description('latest start'),
  tag,
  petSize: Joi.string().valid(...PET_SIZES),
  hasFreePlaces: Joi.boolean()
    .truthy('1')
    .falsy('0')
    .description('true: only meetups with a free place; false or absent: all'),
  sort: Joi.string()
    .valid(...SORTS)
    .default('distance'),
  limit: limitQuery,
  cursor: cursorQuery,
});

export interface MineQuery {
  role?: 'host' | 'participant';
  when: 'upcoming' | 'past';
  limit: number;
  cursor?: string;
}

export const mineQuery = Joi.object<MineQuery, true>({
  role: Joi.string()
    .valid('host', 'participant')
    .description('host: meetups I host; participant: meetups I joined as a guest; default both'),
  when: Joi.string()
    .valid('upcoming', 'past')
    .default('upcoming')
    .description('upcoming: not ended yet, soonest first; past: ended, latest first'),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const attendanceBody = Joi.object<{ userIds: number[] }, true>({
  userIds: Joi.array().items(idParam).min(1).max(MAX_ATTENDANCE_IDS).unique().required(),
});

export const ratingBody = Joi.object<{ rating: number }, true>({
  rating: Joi.number().integer().min(1).max(5).required(),
});

// --- Socket.io payloads --------------------------------------------------------------------------

export const locationUpdate = Joi.object({ meetupId: idParam, lat: lat.required(), lng: lng.required() });
export const locationStop = Joi.object({ meetupId: idParam });

// --- responses (OpenAPI) -------------------------------------------------------------------------

export const hostRatingSchema = Joi.object({
  average: Joi.number().allow(null).description('null while the host has no rating').required(),
  count: Joi.number().integer().required(),
});

const participantSchema = publicUserSchema.keys({
  joinedAt: Joi.string().isoDate().required(),
  attendedAt: Joi.string().isoDate().allow(null).required(),
});

export const meetupSchema = Joi.object({
  id: Joi.number().integer().required(),
  host: publicUserSchema.keys({ hostRating: hostRatingSchema.required() }).required(),
  title: Joi.string().required(),
  description: Joi.string().allow('').required(),
  location: Joi.object({ lat: Joi.number().required(), lng: Joi.number().required() }).required(),
  address: Joi.string().required(),
  startsAt: Joi.string().isoDate().required(),
  endsAt: Joi.string().isoDate().required(),
  capacity: Joi.number().integer().required(),
  participantCount: Joi.number().integer().required(),
  tags: Joi.array().items(Joi.string()).required(),
  petSizes: Joi.array()
    .items(Joi.string().valid(...PET_SIZES))
    .required(),
  status: Joi.string().valid('scheduled', 'cancelled').required(),
  chatRoomId: Joi.number().integer().allow(null).required(),
  participants: Joi.array().items(participantSchema).description('GET /meetups/{id} only').optional(),
  createdAt: Joi.string().isoDate().required(),
  updatedAt: Joi.string().isoDate().required(),
});

export const nearbyItemSchema = meetupSchema.keys({
  distanceKm: Joi.number().description('Redis GEO haversine distance, 4 decimals').required(),
});
export const nearbyResultSchema = listOf(nearbyItemSchema);
export const meetupListSchema = listOf(meetupSchema);

export const attendanceSchema = Joi.object({
  marked: Joi.array().items(Joi.number().integer()).description('marked by this request').required(),
  attended: Joi.array().items(Joi.number().integer()).description('every participant marked so far').required(),
});

export const ratingResultSchema = Joi.object({
  meetupId: Joi.number().integer().required(),
  rating: Joi.number().integer().required(),
  hostRating: hostRatingSchema.required(),
  createdAt: Joi.string().isoDate().required(),
});

/** `location:nearby` and the `location:update` ack (documented in /asyncapi.json). */
export const liveSnapshotSchema = Joi.object({
  meetupId: Joi.number().integer().required(),
  participants: Joi.array()
    .items(
      Joi.object({
        userId: Joi.number().integer().required(),
        lat: Joi.number().required(),
        lng: Joi.number().required(),
        distanceToMeetingPointM: Joi.number().required(),
        updatedAt: Joi.string().isoDate().required(),
      }),
    )
    .required(),
});
export const locationStopAckSchema = Joi.object({
  stopped: Joi.boolean().required().description('false when I was not sharing'),
});
