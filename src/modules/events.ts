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
}

export interface AccountDeleted {
  userId: number;
  /** The avatar as it was before the deletion (the row's copy is cleared after the listeners). */
  avatarUrl: string | null;
}
