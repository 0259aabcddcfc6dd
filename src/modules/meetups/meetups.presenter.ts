import type { PublicUser } from '../users/users.presenter';
import { SIZE_COLUMN, type MeetupBase, type MeetupRow, type ParticipantRow } from './meetups.repository';
import { PET_SIZES, type PetSize } from './meetups.schemas';

export interface HostRating {
  average: number | null;
  count: number;
}

export interface Participant extends PublicUser {
  joinedAt: string;
  attendedAt: string | null;
}

export interface Meetup {
  id: number;
  host: PublicUser & { hostRating: HostRating };
  title: string;
  description: string;
  location: { lat: number; lng: number };
  address: string;
  startsAt: string;
  endsAt: string;
  capacity: number;
  participantCount: number;
  tags: string[];
  petSizes: PetSize[];
  status: MeetupBase['status'];
  chatRoomId: number | null;
  participants?: Participant[];
  createdAt: string;
  updatedAt: string;
}

/** Shown in place of an account that was deleted: the meetup and its history stay readable. */
export const deletedUser = (id: number): PublicUser => ({
  id,
  nickname: 'Deleted user',
  bio: '',
  avatarUrl: null,
  isSitter: false,
});

export const hostRatingOf = (avg: number | null | undefined, count: number | null | undefined): HostRating => ({
  average: avg === null || avg === undefined || !count ? null : avg,
  count: count ?? 0,
});

export const sizesOf = (m: MeetupBase): PetSize[] => PET_SIZES.filter((z) => m[SIZE_COLUMN[z]]);

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

export function toMeetup(
  row: MeetupRow,
  participants?: { row: ParticipantRow; user: PublicUser | undefined }[],
): Meetup {
  const host: PublicUser =
    row.hostDeletedAt || row.hostNickname === null
      ? deletedUser(row.hostId)
      : {
          id: row.hostId,
          nickname: row.hostNickname,
          bio: row.hostBio ?? '',
          avatarUrl: row.hostAvatarUrl,
          isSitter: row.hostIsSitter === true,
        };
  const out: Meetup = {
    id: row.id,
    host: { ...host, hostRating: hostRatingOf(row.hostRatingAvg, row.hostRatingCount) },
    title: row.title,
    description: row.description,
    location: { lat: row.lat, lng: row.lng },
    address: row.address,
    startsAt: iso(row.startsAt),
    endsAt: iso(row.endsAt),
    capacity: row.capacity,
    participantCount: row.participantCount,
    tags: row.tags,
    petSizes: sizesOf(row),
    status: row.status,
    chatRoomId: row.chatRoomId,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
  if (participants) {
    out.participants = participants.map(({ row: p, user }) => ({
      ...(user ?? deletedUser(p.userId)),
      joinedAt: iso(p.joinedAt),
      attendedAt: p.attendedAt ? iso(p.attendedAt) : null,
    }));
  }
  return out;
}
