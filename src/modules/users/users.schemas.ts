import Joi from 'joi';
import { text } from '../../http/schemas';

export const updateMeBody = Joi.object({
  nickname: text(2, 30),
  bio: text(0, 500).allow(''),
});
