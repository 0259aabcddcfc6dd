import type { Transaction } from 'sequelize';
import type { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.presenter';
import type { Pet } from '../pets/pets.presenter';
import type { ReservationRow } from './reservations.repository';

/** Reservation JSON as API.md "Reservations" describes it. */
export interface Reservation {
  id: number;
  status: ReservationRow['status'];
  service: ReservationRow['service'];
  startDate: string;
  endDate: string;
  pets: Pet[];
  owner: PublicUser;
  sitter: { id: number; userId: number; nickname: string; avatarUrl: string | null };
  totalPrice: number;
  note: string | null;
  chatRoomId: number | null;
  cancelledBy: ReservationRow['cancelledBy'];
  cancelReason: string | null;
  createdAt: string;
  updatedAt: string;
}

const gone = (id: number): PublicUser => ({ id, nickname: 'Deleted user', bio: '', avatarUrl: null, isSitter: false });

/** Presents a page of reservations with one user lookup for all of them (no N+1). */
export async function presentReservations(
  rows: ReservationRow[],
  users: UsersService,
  t?: Transaction,
): Promise<Reservation[]> {
  const people = await users.publicUsers(
    rows.flatMap((r) => [r.ownerId, r.sitterUserId]),
    t,
  );
  return rows.map((r) => {
    const sitterUser = people.get(r.sitterUserId) ?? gone(r.sitterUserId);
    return {
      id: r.id,
      status: r.status,
      service: r.service,
      startDate: String(r.startDate),
      endDate: String(r.endDate),
      pets: JSON.parse(r.petsJson) as Pet[],
      owner: people.get(r.ownerId) ?? gone(r.ownerId),
      sitter: {
        id: r.sitterId,
        userId: r.sitterUserId,
        nickname: sitterUser.nickname,
        avatarUrl: sitterUser.avatarUrl,
      },
      totalPrice: Number(r.totalPrice),
      note: r.note,
      chatRoomId: r.chatRoomId,
      cancelledBy: r.cancelledBy,
      cancelReason: r.cancelReason,
      createdAt: new Date(r.createdAt).toISOString(),
      updatedAt: new Date(r.updatedAt).toISOString(),
    };
  });
}
