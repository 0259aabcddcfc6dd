import type { InviteStatus, InviteViewRow, MemberGroupRow, MemberRow, Role } from './groups.repository';

/** API.md `publicUser`. */
export interface PublicUserRef {
  id: number;
  nickname: string;
  avatarUrl: string | null;
}

export interface Group {
  id: number;
  name: string;
  description: string;
  avatarUrl: string | null;
  memberCount: number;
  myRole: Role;
  chatRoomId: number | null;
  createdAt: string;
}

export interface Member {
  user: PublicUserRef;
  role: Role;
  joinedAt: string;
}

export interface Invite {
  id: number;
  group: { id: number; name: string; avatarUrl: string | null; memberCount: number };
  invitedBy: PublicUserRef | null;
  email: string;
  status: InviteStatus;
  expiresAt: string;
  createdAt: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

export const toGroup = (g: MemberGroupRow): Group => ({
  id: g.id,
  name: g.name,
  description: g.description,
  avatarUrl: g.avatarUrl,
  memberCount: Number(g.memberCount),
  myRole: g.role,
  chatRoomId: g.chatRoomId === null ? null : Number(g.chatRoomId),
  createdAt: iso(g.createdAt),
});

export const toMember = (m: MemberRow): Member => ({
  user: { id: m.userId, nickname: m.nickname, avatarUrl: m.avatarUrl },
  role: m.role,
  joinedAt: iso(m.joinedAt),
});

export const toInvite = (i: InviteViewRow, now: Date): Invite => ({
  id: i.id,
  group: { id: i.groupId, name: i.groupName, avatarUrl: i.groupAvatarUrl, memberCount: Number(i.groupMemberCount) },
  invitedBy: i.inviterDeletedAt
    ? null
    : { id: i.invitedById, nickname: i.inviterNickname, avatarUrl: i.inviterAvatarUrl },
  email: i.email,
  // A pending invite past its time is expired, whether or not the sweep has written it yet.
  status: i.status === 'pending' && new Date(i.expiresAt) <= now ? 'expired' : i.status,
  expiresAt: iso(i.expiresAt),
  createdAt: iso(i.createdAt),
});

export { iso };
