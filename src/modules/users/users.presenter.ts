import type { UserRow } from './users.repository';

/** What anyone may see of a user. */
export interface PublicUser {
  id: number;
  nickname: string;
  bio: string;
  avatarUrl: string | null;
  isSitter: boolean;
}

/** What a user sees of themself. */
export interface SelfUser extends PublicUser {
  /** Null when the account came from a provider without a usable e-mail. */
  email: string | null;
  emailVerified: boolean;
  /** False for accounts that sign in only with providers (they may set one without a current password). */
  hasPassword: boolean;
  createdAt: string;
}

export const toPublicUser = (u: UserRow): PublicUser => ({
  id: u.id,
  nickname: u.nickname,
  bio: u.bio,
  avatarUrl: u.avatarUrl,
  isSitter: Boolean(u.isSitter),
});

export const toSelfUser = (u: UserRow): SelfUser => ({
  ...toPublicUser(u),
  email: u.email,
  emailVerified: u.email !== null && u.emailVerifiedAt !== null,
  hasPassword: u.passwordHash !== null,
  createdAt: new Date(u.createdAt).toISOString(),
});
