import type { Transaction } from 'sequelize';

/** Runs inside the emitting transaction; throwing aborts it (and so the change that emitted). */
export type DomainListener<P> = (payload: P, t: Transaction) => Promise<void>;

/** The listeners one module declares, at most one per event. */
export type DomainListeners<Events> = { [K in keyof Events]?: DomainListener<Events[K]> };

/**
 * Synchronous reactions of one module to another module's change, in the same transaction: the
 * change and every reaction commit together or not at all. Listeners run one after another on the
 * emitter's connection, in registration order, and errors are not caught — a reaction that cannot
 * happen is a change that cannot happen. Effects outside MySQL still go through the outbox (or
 * `t.afterCommit`), like any other write.
 */
export class DomainEvents<Events extends object> {
  private readonly listeners = new Map<keyof Events, Array<DomainListener<never>>>();

  on<K extends keyof Events>(event: K, listener: DomainListener<Events[K]>): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as DomainListener<never>);
    this.listeners.set(event, list);
  }

  /** Registers every listener a module declared. */
  onAll(listeners: DomainListeners<Events>): void {
    for (const event of Object.keys(listeners) as Array<keyof Events>) {
      const listener = listeners[event];
      if (listener) this.on(event, listener);
    }
  }

  async emit<K extends keyof Events>(t: Transaction, event: K, payload: Events[K]): Promise<void> {
    for (const listener of this.listeners.get(event) ?? []) {
      await (listener as DomainListener<Events[K]>)(payload, t);
    }
  }
}
