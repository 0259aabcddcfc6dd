import Joi from 'joi';
import { idParam, idParams, limitQuery, listOf, pageQuery, publicUserSchema, text } from '../../http/schemas';

export const BODY_MAX = 2000;

const id = Joi.number().integer().min(1).max(4294967295);
const body = text(1, BODY_MAX);
/** Chosen by the client per message (a UUID, a counter …): the idempotency key of a send. */
const clientId = Joi.string()
  .min(1)
  .max(64)
  .pattern(/^[A-Za-z0-9_-]+$/, { name: 'letters, digits, _ and -' });

// --- REST -------------------------------------------------------------------------------------

export const roomParams = idParams;

export const listRoomsQuery = pageQuery;

export const createRoomBody = Joi.object<{ type: 'direct'; userId: number }, true>({
  type: Joi.string()
    .valid('direct')
    .required()
    .description('only direct rooms are created here; the others come with their feature'),
  userId: idParam,
});

/** `before` (newest first) or `after` (oldest first), never both. */
export interface HistoryQuery {
  before?: number;
  after?: number;
  limit: number;
}

export const historyQuery = Joi.object<HistoryQuery, true>({
  before: id.description('newest first, below this message id'),
  // Both at once has no meaning; naming `after` tells the client which one to drop.
  // 0 is "from the beginning": a client with no message yet need not special-case its first call.
  after: Joi.number()
    .integer()
    .min(0)
    .max(4294967295)
    .when('before', { is: Joi.exist(), then: Joi.forbidden() })
    .description('oldest first, above this message id (catch-up); 0 is from the first message'),
  limit: limitQuery,
});

export const sendBody = Joi.object<{ body: string; clientId: string }, true>({
  body: body.required(),
  clientId: clientId.required(),
});

export const readBody = Joi.object<{ messageId: number }, true>({ messageId: idParam });

export const messageSchema = Joi.object({
  id: Joi.number().integer().required(),
  roomId: Joi.number().integer().required(),
  senderId: Joi.number().integer().required(),
  body: Joi.string().required(),
  clientId: Joi.string().required(),
  createdAt: Joi.string().isoDate().required(),
  hidden: Joi.boolean()
    .description(
      'true when body is a placeholder: hidden after reports from 5 users (until an operator decides; its sender still reads it) or removed by an operator',
    )
    .required(),
});

export const roomSchema = Joi.object({
  id: Joi.number().integer().required(),
  type: Joi.string().valid('direct', 'reservation', 'meetup', 'post', 'listing', 'group').required(),
  members: Joi.array().items(publicUserSchema).description('at most 100; memberCount has the total').required(),
  memberCount: Joi.number().integer().required(),
  reservationId: Joi.number().integer().optional(),
  meetupId: Joi.number().integer().optional(),
  postId: Joi.number().integer().optional(),
  listingId: Joi.number().integer().description('a listing room: the market listing it is about').optional(),
  groupId: Joi.number().integer().description('a group room: the group whose members it has').optional(),
  lastMessage: messageSchema.allow(null).required(),
  unreadCount: Joi.number().integer().required(),
  lastActivityAt: Joi.string().isoDate().required(),
});

export const roomListSchema = listOf(roomSchema);
export const messageListSchema = listOf(messageSchema).description(
  'nextCursor is the id to pass as the same before/after parameter',
);

// --- Socket.io client events ------------------------------------------------------------------

export const socketRoom = Joi.object({ roomId: id.required() });
export const socketSend = Joi.object({ roomId: id.required(), body: body.required(), clientId: clientId.required() });
export const socketRead = Joi.object({ roomId: id.required(), messageId: id.required() });

// --- Socket.io payloads the server sends (documented in /asyncapi.json) ---------------------------
export const readReceiptSchema = Joi.object({
  roomId: Joi.number().integer().required(),
  userId: Joi.number().integer().required(),
  messageId: Joi.number().integer().required(),
});
export const typingEventSchema = Joi.object({
  roomId: Joi.number().integer().required(),
  userId: Joi.number().integer().required(),
});
export const loginEndedSchema = Joi.object({ message: Joi.string().required() });
export const shutdownSchema = Joi.object({ reconnect: Joi.boolean().valid(true).required() });
export const sendAckSchema = Joi.object({ message: messageSchema.required() });
export const typingAckSchema = Joi.object({
  relayed: Joi.boolean().required().description('false when throttled (at most one relay per 2 s per room)'),
});
