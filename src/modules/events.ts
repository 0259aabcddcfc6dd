/**
 * Domain events: one module's change that other modules react to in the same transaction
 * (src/infra/domain-events.ts). A module emits with `ctx.events.emit(t, name, payload)` and others
 * declare `events: { name: listener }` on their FeatureModule. Payloads are plain domain values, not
 * repository rows, so listeners do not depend on the emitter's tables.
 */
export interface DomainEventMap {
  /**
   * An account is being deleted: emitted inside the deletion's transaction, before its personal data
   * is cleared. Listeners end what the account holds: logins, provider identities, sitter profile,
   * open reservations, pets, hosted meetups, files.
   */
  'account.deleted': AccountDeleted;
  /**
   * A member completed their part of a group mission (groups), once per member and mission: emitted in
   * the transaction that stores the completion. Badges count it.
   */
  'mission.completed': MissionCompleted;
  /** A photo was added to a group's gallery (groups), in the transaction that stores it. Badges count it. */
  'group.photo.added': GroupPhotoAdded;
  /**
   * A meetup's host recorded, for the first time, that someone other than themself came (meetups'
   * attendance, after the start): the meetup was held. Emitted once per meetup, in that transaction.
   */
  'meetup.hosted': MeetupHosted;
  /** An owner reviewed a completed stay (reservations), in the transaction that stores the review. */
  'sitter.reviewed': SitterReviewed;
  /**
   * An account's e-mail became verified (sign-up verification, provider sign-up with a verified
   * address, or an e-mail change): invites waiting for that address reach the account.
   */
  'user.email_verified': EmailVerified;
  /**
   * A group is being deleted, before its rows go: listeners schedule their own files' deletion
   * (`media.deleteAfterCommit`) and drop what does not cascade from the group row.
   */
  'group.deleted': GroupDeleted;
}

export interface EmailVerified {
  userId: number;
  /** Lower-case, as stored. */
  email: string;
}

export interface GroupDeleted {
  groupId: number;
  /** Who deleted it (the owner), or null when the owner's account was deleted. */
  byUserId: number | null;
}

export interface AccountDeleted {
  userId: number;
  /** The avatar as it was before the deletion (the row's copy is cleared after the listeners). */
  avatarUrl: string | null;
}

export interface MissionCompleted {
  groupId: number;
  missionId: number;
  /** The member who completed it. */
  userId: number;
  completedAt: Date;
  /** Members of the group at that moment (mission badges need company: at least 2). */
  memberCount: number;
}

export interface GroupPhotoAdded {
  groupId: number;
  photoId: number;
  authorId: number;
  createdAt: Date;
  /** The author's photos in this group's gallery now, this one included (deleted ones do not count). */
  authorPhotos: number;
}

export interface MeetupHosted {
  meetupId: number;
  hostId: number;
  /** Attendees other than the host, as marked so far. */
  attendeeIds: number[];
  at: Date;
}

export interface SitterReviewed {
  reservationId: number;
  /** The sitter's user id (the one who earns from it), not the sitter profile id. */
  sitterUserId: number;
  authorId: number;
  rating: number;
  at: Date;
}
