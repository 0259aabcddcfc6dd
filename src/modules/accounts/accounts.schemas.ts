import Joi from 'joi';
import { email, password, selfUserSchema } from '../../http/schemas';

const opaque = Joi.string()
  .min(10)
  .max(200)
  .pattern(/^[A-Za-z0-9_-]+$/, { name: 'token characters' });

export interface ProviderParams {
  provider: string;
}
export interface ChangePasswordBody {
  currentPassword?: string;
  newPassword: string;
}
export interface ChangeEmailBody {
  newEmail: string;
  password?: string;
}
export interface TokenBody {
  token: string;
}

export const providerParams = Joi.object<ProviderParams, true>({
  provider: Joi.string()
    .lowercase()
    .pattern(/^[a-z0-9]{1,40}$/, { name: 'provider name' })
    .required(),
});

export const changePasswordBody = Joi.object<ChangePasswordBody, true>({
  // Not re-validated beyond a sane bound: the rules may have changed since it was set.
  currentPassword: Joi.string().min(1).max(200),
  newPassword: password.required(),
});

export const changeEmailBody = Joi.object<ChangeEmailBody, true>({
  newEmail: email.required(),
  password: Joi.string().min(1).max(200),
});

export const tokenBody = Joi.object<TokenBody, true>({ token: opaque.required() });

export const sessionSchema = Joi.object({
  id: Joi.number().integer().required(),
  createdAt: Joi.string().isoDate().required(),
  lastUsedAt: Joi.string()
    .isoDate()
    .description('when a token of this login was last issued (sign-in or refresh)')
    .required(),
  userAgent: Joi.string().allow(null).description('the User-Agent of the sign-in').required(),
  current: Joi.boolean().description('the login this request was made with').required(),
});

export const identitySchema = Joi.object({
  provider: Joi.string().required(),
  email: Joi.string().allow(null).description('the e-mail the provider gave, verified or not').required(),
  linkedAt: Joi.string().isoDate().required(),
});

export const itemsOf = (item: Joi.Schema) => Joi.object({ items: Joi.array().items(item).required() });

// --- sign-in with providers ---------------------------------------------------------------------

export interface StartQuery {
  redirectUri: string;
  codeChallenge?: string;
}
export interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
}
export interface ExchangeBody {
  code: string;
  codeVerifier?: string;
}

export const startQuery = Joi.object<StartQuery, true>({
  redirectUri: Joi.string().max(500).required().description('one of the server’s OAUTH_REDIRECT_URIS, exactly'),
  codeChallenge: Joi.string()
    .pattern(/^[A-Za-z0-9_-]{43}$/, { name: 'base64url SHA-256' })
    .description(
      'Recommended (optional only for clients written before it existed): S256, base64url (no padding) of the SHA-256 of the client’s codeVerifier. With it, only the client holding the verifier can exchange the code.',
    ),
});

/** Documented only: the callback reads the provider's whole query (it may add parameters such as `iss`). */
export const callbackQuery = Joi.object<CallbackQuery, true>({
  state: Joi.string().max(1000),
  code: Joi.string().max(2000),
  error: Joi.string().max(200),
});

export const exchangeBody = Joi.object<ExchangeBody, true>({
  code: opaque.required(),
  codeVerifier: Joi.string()
    .pattern(/^[A-Za-z0-9._~-]{43,128}$/, { name: 'PKCE verifier characters' })
    .description('required when start was given a codeChallenge: the 43–128 character secret whose S256 hash it was'),
});

export const providerSchema = Joi.object({ name: Joi.string().required(), displayName: Joi.string().required() });

export const oauthSessionSchema = Joi.object({
  user: selfUserSchema.required(),
  accessToken: Joi.string().required(),
  refreshToken: Joi.string().required(),
  expiresIn: Joi.number().integer().required(),
  isNewUser: Joi.boolean().description('true when this sign-in made the account').required(),
});
