import Joi from 'joi';

/** Building blocks shared by every module's schemas. */

/** A row's id as a client sends it: INT UNSIGNED, from 1 (list items, cursor keys). */
export const rowId = Joi.number().integer().min(1).max(4294967295);
export const idParam = rowId.required();
/** `/:id` paths. Request schemas declare the type they produce (`Joi.object<T, true>`), see http/routes.ts. */
export interface IdParams {
  id: number;
}
export const idParams = Joi.object<IdParams, true>({ id: idParam });

export const email = Joi.string().trim().lowercase().email({ tlds: false }).max(254);

/** 8–72 characters and at most 72 bytes of UTF-8: bcrypt silently ignores everything past byte 72. */
export const password = Joi.string()
  .min(8)
  .max(72)
  .custom((value: string, helpers) => {
    if (Buffer.byteLength(value, 'utf8') > 72) return helpers.error('password.bytes');
    return value;
  })
  .messages({ 'password.bytes': '{{#label}} must be at most 72 bytes in UTF-8' });

/** Text a person types: trimmed, no control characters except newlines and tabs. */
export const text = (min: number, max: number) =>
  Joi.string()
    .trim()
    .min(min)
    .max(max)
    .pattern(/^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/, { name: 'no control characters' });

/** A real calendar day `YYYY-MM-DD` (2026-02-30 is refused, not rolled over). */
export const calendarDay = Joi.string()
  .pattern(/^\d{4}-\d{2}-\d{2}$/, { name: 'YYYY-MM-DD' })
  .custom((value: string, helpers) => {
    const d = new Date(`${value}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value) return helpers.error('day.invalid');
    return value;
  })
  .messages({ 'day.invalid': '{{#label}} must be a real calendar day' });

/** Latitudes a web map shows (Web Mercator stops short of the poles). */
export const MAX_LAT = 85.05;
export const latitude = Joi.number().min(-MAX_LAT).max(MAX_LAT);
export const longitude = Joi.number().min(-180).max(180);
/** A `{ lat, lng }` point of the request bodies. */
export const latLng = Joi.object({ lat: latitude.required(), lng: longitude.required() });

/** `?limit=&cursor=` of a list. */
export interface PageQuery {
  limit: number;
  cursor?: string;
}

export const limitQuery = Joi.number().integer().min(1).max(100).default(20);
export const cursorQuery = Joi.string().max(200);
/** `?limit=&cursor=` and nothing else. */
export const pageQuery = Joi.object<PageQuery, true>({ limit: limitQuery, cursor: cursorQuery });

export const publicUserSchema = Joi.object({
  id: Joi.number().integer().required(),
  nickname: Joi.string().required(),
  bio: Joi.string().allow('').required(),
  avatarUrl: Joi.string().allow(null).required(),
  isSitter: Joi.boolean().required(),
});

/** What a post, listing, comment or voice note shows of its author (API.md `publicUser` of v1.1). */
export const userRefSchema = Joi.object({
  id: Joi.number().integer().required(),
  nickname: Joi.string().required(),
  avatarUrl: Joi.string().allow(null).required(),
});

/** A stored photo: full size and thumbnail. */
export const photoRefSchema = Joi.object({
  id: Joi.number().integer().required(),
  url: Joi.string().required(),
  thumbnailUrl: Joi.string().required(),
});

export const selfUserSchema = publicUserSchema.keys({
  email: Joi.string().allow(null).required(),
  emailVerified: Joi.boolean().required(),
  hasPassword: Joi.boolean().required(),
  createdAt: Joi.string().isoDate().required(),
});

export const listOf = (item: Joi.Schema) =>
  Joi.object({ items: Joi.array().items(item).required(), nextCursor: Joi.string().allow(null).required() });
