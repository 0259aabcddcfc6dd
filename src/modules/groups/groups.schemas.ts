import Joi from 'joi';
import type { EventInput } from './calendar.service';
import {
  calendarDay,
  cursorQuery,
  email,
  idParam,
  limitQuery,
  pageQuery,
  text,
  userRefSchema,
} from '../../http/schemas';

// --- requests ------------------------------------------------------------------------------------

export const createGroupBody = Joi.object<{ name: string; description: string }, true>({
  name: text(1, 40).required(),
  description: text(0, 500).allow('').default(''),
});

export const updateGroupBody = Joi.object<{ name?: string; description?: string }, true>({
  name: text(1, 40),
  description: text(0, 500).allow(''),
}).min(1);

export { pageQuery };

export const memberParams = Joi.object<{ id: number; userId: number }, true>({ id: idParam, userId: idParam });
export const roleBody = Joi.object<{ role: 'admin' | 'member' }, true>({
  role: Joi.string().valid('admin', 'member').required(),
});
export const ownerBody = Joi.object<{ userId: number }, true>({ userId: idParam });

export const inviteBody = Joi.object<{ email: string }, true>({ email: email.required() });

// --- responses (OpenAPI; the fields every answer has are required) -------------------------------

const iso = () => Joi.string().isoDate();
export const publicUserRef = userRefSchema;

export const groupSchema = Joi.object({
  id: Joi.number().integer().required(),
  name: Joi.string().required(),
  description: Joi.string().allow('').required(),
  avatarUrl: Joi.string().allow(null).required(),
  memberCount: Joi.number().integer().required(),
  myRole: Joi.string().valid('owner', 'admin', 'member').required(),
  chatRoomId: Joi.number().integer().allow(null).required().description('the group’s chat room (type group)'),
  createdAt: iso().required(),
});

export const memberSchema = Joi.object({
  user: publicUserRef.required(),
  role: Joi.string().valid('owner', 'admin', 'member').required(),
  joinedAt: iso().required(),
});

export const inviteSchema = Joi.object({
  id: Joi.number().integer().required(),
  group: Joi.object({
    id: Joi.number().integer().required(),
    name: Joi.string().required(),
    avatarUrl: Joi.string().allow(null).required(),
    memberCount: Joi.number().integer().required(),
  }).required(),
  invitedBy: publicUserRef.allow(null).required(),
  email: Joi.string().required(),
  status: Joi.string().valid('pending', 'accepted', 'declined', 'expired').required(),
  expiresAt: iso().required(),
  createdAt: iso().required(),
});

export const listSchema = (item: Joi.Schema) =>
  Joi.object({ items: Joi.array().items(item).required(), nextCursor: Joi.string().allow(null).required() });
export const fixedListSchema = (item: Joi.Schema) => Joi.object({ items: Joi.array().items(item).required() });

export { calendarDay, idParam, text, iso };

// --- missions ------------------------------------------------------------------------------------

export const MAX_ASSIGNEES = 50;

export const missionBody = Joi.object<{ title: string; dueDate?: string | null; assigneeIds?: number[] }, true>({
  title: text(1, 100).required(),
  dueDate: calendarDay.allow(null),
  assigneeIds: Joi.array()
    .items(idParam)
    .unique()
    .max(MAX_ASSIGNEES)
    .description('members who should complete it; empty or absent: everyone'),
});

export const missionListQuery = Joi.object<{ status?: 'open' | 'done'; limit: number; cursor?: string }, true>({
  status: Joi.string().valid('open', 'done'),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const missionParams = Joi.object<{ id: number; missionId: number }, true>({ id: idParam, missionId: idParam });

export const missionSchema = Joi.object({
  id: Joi.number().integer().required(),
  title: Joi.string().required(),
  dueDate: Joi.string().allow(null).required(),
  assignees: Joi.array().items(publicUserRef).required().description('empty: every member'),
  completedBy: Joi.array().items(publicUserRef).required(),
  status: Joi.string().valid('open', 'done').required(),
  createdBy: Joi.number().integer().required(),
  createdAt: iso().required(),
});

// --- calendar ------------------------------------------------------------------------------------

const instant = Joi.date().iso().min('2000-01-01T00:00:00Z').max('2100-01-01T00:00:00Z');

export const createEventBody = Joi.object<EventInput, true>({
  title: text(1, 100).required(),
  description: text(0, 2000).allow(''),
  location: text(1, 200).allow(null),
  allDay: Joi.boolean().default(false),
  startsAt: instant.when('allDay', { is: true, then: Joi.forbidden(), otherwise: Joi.required() }),
  endsAt: instant.when('allDay', { is: true, then: Joi.forbidden(), otherwise: Joi.required() }),
  startDate: calendarDay.when('allDay', { is: true, then: Joi.required(), otherwise: Joi.forbidden() }),
  endDate: calendarDay.when('allDay', { is: true, then: Joi.required(), otherwise: Joi.forbidden() }),
}).example({
  title: 'Vet visit',
  description: 'Annual check-up for Bori',
  location: 'Happy Paws clinic',
  startsAt: '2026-05-01T09:00:00.000Z',
  endsAt: '2026-05-01T10:00:00.000Z',
});

export const updateEventBody = Joi.object<EventInput, true>({
  title: text(1, 100),
  description: text(0, 2000).allow(''),
  location: text(1, 200).allow(null),
  allDay: Joi.boolean(),
  startsAt: instant,
  endsAt: instant,
  startDate: calendarDay,
  endDate: calendarDay,
})
  .min(1)
  .description('Fields of the event’s kind; allDay switches the kind (then send that kind’s times)');

export const eventListQuery = Joi.object<{ from: Date; to: Date; limit: number; cursor?: string }, true>({
  from: instant.required(),
  to: instant.required().description('at most 92 days after from'),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const eventParams = Joi.object<{ id: number; eventId: number }, true>({ id: idParam, eventId: idParam });

export const eventSchema = Joi.object({
  id: Joi.number().integer().required(),
  title: Joi.string().required(),
  description: Joi.string().allow('').required(),
  startsAt: iso().required(),
  endsAt: iso().required().description('all day: the last instant of endDate in SERVICE_TZ'),
  allDay: Joi.boolean().required(),
  startDate: Joi.string().allow(null).required(),
  endDate: Joi.string().allow(null).required(),
  location: Joi.string().allow(null).required(),
  createdBy: Joi.number().integer().required(),
  createdAt: iso().required(),
});

// --- gallery -------------------------------------------------------------------------------------

export const photoBody = Joi.object<{ caption: string }, true>({
  caption: text(0, 300).allow('').default('').description('optional, ≤ 300 characters (a multipart text field)'),
});
export const photoParams = Joi.object<{ id: number; photoId: number }, true>({ id: idParam, photoId: idParam });
export const photoCommentParams = Joi.object<{ id: number; photoId: number; commentId: number }, true>({
  id: idParam,
  photoId: idParam,
  commentId: idParam,
});
export const photoCommentBody = Joi.object<{ body: string }, true>({ body: text(1, 2000).required() });

export const photoSchema = Joi.object({
  id: Joi.number().integer().required(),
  url: Joi.string().required(),
  thumbnailUrl: Joi.string().required(),
  caption: Joi.string().allow('').required(),
  author: publicUserRef.required(),
  likeCount: Joi.number().integer().required(),
  likedByMe: Joi.boolean().required(),
  commentCount: Joi.number().integer().required(),
  createdAt: iso().required(),
});
export const photoCommentSchema = Joi.object({
  id: Joi.number().integer().required(),
  photoId: Joi.number().integer().required(),
  author: publicUserRef.required(),
  body: Joi.string().required(),
  createdAt: iso().required(),
});
export const likeSchema = Joi.object({
  likeCount: Joi.number().integer().required(),
  likedByMe: Joi.boolean().required(),
});
