import Joi from 'joi';
import { idParam, text } from '../../http/schemas';
import type { ReportInput } from './safety.service';

export const TARGET_TYPES = ['post', 'comment', 'listing', 'user', 'message', 'photo'] as const;
export const REASONS = ['spam', 'abuse', 'scam', 'other'] as const;

export const reportBody = Joi.object<ReportInput, true>({
  targetType: Joi.string()
    .valid(...TARGET_TYPES)
    .required(),
  targetId: idParam,
  reason: Joi.string()
    .valid(...REASONS)
    .required(),
  detail: text(0, 1000).allow(''),
});

export const blockListSchema = Joi.object({
  items: Joi.array()
    .items(
      Joi.object({
        user: Joi.object({
          id: Joi.number().integer().required(),
          nickname: Joi.string().required(),
          avatarUrl: Joi.string().allow(null).required(),
        }).required(),
        createdAt: Joi.string().isoDate().required(),
      }),
    )
    .required(),
});
