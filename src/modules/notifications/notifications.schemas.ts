import Joi from 'joi';
import { MAX_ACCESS_TOKEN_CHARS } from '../../http/auth';
import { cursorQuery, limitQuery, listOf } from '../../http/schemas';

/** Every notification type (API.md "Notifications"). */
export const NOTIFICATION_TYPES = [
  'chat.message',
  'comment.new',
  'comment.reply',
  'reservation.requested',
  'reservation.accepted',
  'reservation.rejected',
  'reservation.cancelled',
  'reservation.completed',
  'review.new',
  'meetup.joined',
  'meetup.reminder',
  'meetup.cancelled',
  'invite.new',
  'market.offer',
  'market.price_drop',
  'market.sold',
  'group.joined',
  'group.event_reminder',
  'group.photo_comment',
  'group.mission_done',
  'badge.earned',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export interface Preference {
  inApp: boolean;
  email: boolean;
}

/**
 * In-app on for everything; e-mail only for reservations (they concern money and dates) and group
 * invites (the contract sends them by e-mail too).
 */
export function defaultPreference(type: NotificationType): Preference {
  return { inApp: true, email: type.startsWith('reservation.') || type === 'invite.new' };
}

export const TITLE_MAX = 200;
export const BODY_MAX = 2000;
/** Serialized `data` limit: the row is sent whole on every stream, so it must stay small. */
export const DATA_MAX_BYTES = 8 * 1024;

export const listQuery = Joi.object<{ unread: boolean; limit: number; cursor?: string }, true>({
  unread: Joi.boolean().truthy('1').falsy('0').default(false),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const streamQuery = Joi.object<{ access_token?: string; lastEventId?: number }, true>({
  access_token: Joi.string()
    .max(MAX_ACCESS_TOKEN_CHARS)
    .description('Access token, for clients that cannot set headers (EventSource)'),
  lastEventId: Joi.number().integer().min(0).max(4294967295).description('Same as the Last-Event-ID header'),
});

const preferenceSchema = Joi.object({ inApp: Joi.boolean(), email: Joi.boolean() });
const preferenceUpdate = preferenceSchema.min(1);

const keysOf = (item: Joi.Schema) => Object.fromEntries(NOTIFICATION_TYPES.map((t) => [t, item]));

// unknown(false) stated explicitly: the router strips unknown keys by default, but an unknown
// notification type is a client bug that must be answered with a 400 naming it.
export type PreferenceChanges = Partial<Record<NotificationType, Partial<Preference>>>;

export const preferencesUpdateBody = Joi.object<{ preferences: PreferenceChanges }, true>({
  preferences: Joi.object(keysOf(preferenceUpdate)).unknown(false).min(1).required(),
});

export const preferencesSchema = Joi.object({
  preferences: Joi.object(
    keysOf(preferenceSchema.keys({ inApp: Joi.boolean().required(), email: Joi.boolean().required() }).required()),
  ).required(),
});

export const notificationSchema = Joi.object({
  id: Joi.number().integer().required(),
  type: Joi.string()
    .valid(...NOTIFICATION_TYPES)
    .required(),
  title: Joi.string().required(),
  body: Joi.string().allow('').required(),
  data: Joi.object().unknown(true).allow(null).required(),
  readAt: Joi.string().isoDate().allow(null).required(),
  createdAt: Joi.string().isoDate().required(),
});

export const notificationListSchema = listOf(notificationSchema);
export const countSchema = Joi.object({ count: Joi.number().integer().min(0).required() });

/** What other modules pass to `notify`; checked at the boundary so a caller bug fails loudly. */
export const notifyInput = Joi.object({
  recipientId: Joi.number().integer().min(1).required(),
  type: Joi.string()
    .valid(...NOTIFICATION_TYPES)
    .required(),
  title: Joi.string().min(1).required(),
  body: Joi.string().allow('').default(''),
  data: Joi.object().unknown(true).allow(null).default(null),
  dedupeKey: Joi.string().min(1).max(100).allow(null).default(null),
});
