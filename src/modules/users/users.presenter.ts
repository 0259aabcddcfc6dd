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
  email: string;
  emailVerified: boolean;
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
  emailVerified: u.emailVerifiedAt !== null,
  createdAt: new Date(u.createdAt).toISOString(),
});
