import Joi from 'joi';
import { email, password, selfUserSchema, text } from '../../http/schemas';

export interface SignupBody {
  email: string;
  password: string;
  nickname: string;
}
export type LoginBody = Pick<SignupBody, 'email' | 'password'>;

export const signupBody = Joi.object<SignupBody, true>({
  email: email.required(),
  password: password.required(),
  nickname: text(2, 30).required(),
});

export const loginBody = Joi.object<LoginBody, true>({
  email: email.required(),
  // Not re-validated beyond a sane bound: the rules may have changed since the account was made.
  password: Joi.string().min(1).max(200).required(),
});

const opaque = Joi.string()
  .min(10)
  .max(200)
  .pattern(/^[A-Za-z0-9_-]+$/, { name: 'token characters' });

export const refreshBody = Joi.object<{ refreshToken: string }, true>({ refreshToken: opaque.required() });
export const logoutBody = Joi.object<{ refreshToken?: string }, true>({ refreshToken: opaque });
export const tokenBody = Joi.object<{ token: string }, true>({ token: opaque.required() });
export const forgotBody = Joi.object<{ email: string }, true>({ email: email.required() });
export const resetBody = Joi.object<{ token: string; password: string }, true>({
  token: opaque.required(),
  password: password.required(),
});

export const tokenPairSchema = Joi.object({
  accessToken: Joi.string().required(),
  refreshToken: Joi.string().required(),
  expiresIn: Joi.number().integer().description('seconds until the access token expires').required(),
});
export const sessionSchema = tokenPairSchema.keys({ user: selfUserSchema.required() });
