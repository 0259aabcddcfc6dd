/** `publicUser` of v1.1: what a post, comment, listing or offer shows of a user (userRefSchema). */
export interface UserRef {
  id: number;
  nickname: string;
  avatarUrl: string | null;
}

/** A stored photo as answered (photoRefSchema). */
export interface PhotoRef {
  id: number;
  url: string;
  thumbnailUrl: string;
}

/** A user as others see them; a deleted account (or a missing row) shows as "Deleted user", no avatar. */
export const userRef = (
  id: number,
  nickname: string | null,
  avatarUrl: string | null,
  deletedAt: Date | null,
): UserRef =>
  deletedAt || nickname === null ? { id, nickname: 'Deleted user', avatarUrl: null } : { id, nickname, avatarUrl };
