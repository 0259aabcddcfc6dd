import Joi from 'joi';
import { cursorQuery, idParam, limitQuery, listOf, publicUserSchema, rowId, text } from '../../http/schemas';
import { petSchema } from '../pets/pets.schemas';
import { SERVICES, day } from '../sitters/sitters.schemas';
import type { ReservationStatus } from './reservations.repository';
import type { CreateInput } from './reservations.service';

const STATUSES = ['requested', 'accepted', 'rejected', 'cancelled', 'completed'] as const;
export const createBody = Joi.object<CreateInput, true>({
  sitterId: idParam,
  service: Joi.string()
    .valid(...SERVICES)
    .required(),
  petIds: Joi.array().items(rowId).min(1).max(10).unique().required(),
  startDate: day.required(),
  endDate: day.required(),
  note: text(0, 1000).allow(''),
});

export interface ListQuery {
  role?: 'owner' | 'sitter';
  status?: ReservationStatus;
  limit: number;
  cursor?: string;
}

export const listQuery = Joi.object<ListQuery, true>({
  role: Joi.string().valid('owner', 'sitter'),
  status: Joi.string().valid(...STATUSES),
  limit: limitQuery,
  cursor: cursorQuery,
});

export const cancelBody = Joi.object<{ reason?: string }, true>({ reason: text(0, 200).allow('') });

export const reviewBody = Joi.object<{ rating: number; comment?: string }, true>({
  rating: Joi.number().integer().min(1).max(5).required(),
  comment: text(0, 2000).allow(''),
});

export const createHeaders = Joi.object<{ 'idempotency-key'?: string }, true>({
  'idempotency-key': Joi.string()
    .min(1)
    .max(200)
    .pattern(/^[\x21-\x7e]+$/, { name: 'visible ASCII' })
    .description('Replays the first answer for 24 h to the same user and body'),
});

export const reservationSchema = Joi.object({
  id: Joi.number().integer().required(),
  status: Joi.string()
    .valid(...STATUSES)
    .required(),
  service: Joi.string()
    .valid(...SERVICES)
    .required(),
  startDate: Joi.string().required(),
  endDate: Joi.string().required(),
  pets: Joi.array().items(petSchema).description('the pets as they were when the request was made').required(),
  owner: publicUserSchema.required(),
  sitter: Joi.object({
    id: Joi.number().required(),
    userId: Joi.number().required(),
    nickname: Joi.string().required(),
    avatarUrl: Joi.string().allow(null).required(),
  }).required(),
  totalPrice: Joi.number()
    .integer()
    .description('KRW: price of the service × days × pets, fixed at request time')
    .required(),
  note: Joi.string().allow(null).required(),
  chatRoomId: Joi.number().allow(null).required(),
  cancelledBy: Joi.string().valid('owner', 'sitter', 'system').allow(null).required(),
  cancelReason: Joi.string().allow(null).required(),
  createdAt: Joi.string().isoDate().required(),
  updatedAt: Joi.string().isoDate().required(),
});
export const reservationList = listOf(reservationSchema);

export const reviewSchema = Joi.object({
  id: Joi.number().required(),
  rating: Joi.number().required(),
  comment: Joi.string().allow(null).required(),
  author: publicUserSchema.required(),
  createdAt: Joi.string().isoDate().required(),
});
