import Joi from 'joi';
import { text } from '../../http/schemas';

export interface UpdateMeBody {
  nickname?: string;
  bio?: string;
}

export const updateMeBody = Joi.object<UpdateMeBody, true>({
  nickname: text(2, 30),
  bio: text(0, 500).allow(''),
});
