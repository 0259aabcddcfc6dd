/**
 * Keys this instance has already acted on, remembered for a while: the receive side of an
 * at-least-once delivery. Publishing "at most once" cannot be made certain across a Redis failover
 * (a mark written on a master that dies before replicating it is gone, and a command retried on the
 * promoted replica runs again), so a receiver that must act once per key checks here first.
 *
 * Bounded in both directions: a key is forgotten after `ttlMs`, and at most `capacity` keys are held
 * (the oldest go first), so a burst cannot grow memory without limit.
 */
export class SeenKeys {
  /** Key → when it was first seen; a Map iterates in insertion order, i.e. oldest first. */
  private readonly seenAt = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time a key is offered within its window; false for a repeat. */
  firstTime(key: string): boolean {
    const now = this.now();
    this.forgetExpired(now);
    if (this.seenAt.has(key)) return false;
    if (this.seenAt.size >= this.capacity) this.seenAt.delete(this.seenAt.keys().next().value as string);
    this.seenAt.set(key, now);
    return true;
  }

  get size(): number {
    return this.seenAt.size;
  }

  private forgetExpired(now: number): void {
    for (const [key, at] of this.seenAt) {
      if (now - at < this.ttlMs) return;
      this.seenAt.delete(key);
    }
  }
}
