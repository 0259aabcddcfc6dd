import type { RowDataPacket } from 'mysql2';
import type { Clock } from '../../infra/clock';
import type { Outbox } from '../../infra/outbox';
import type { ScriptedTransaction, ScriptedTransactions } from '../../infra/sql-script';
import type { UserContact, UsersService } from '../users/users.service';
import type {
  NewNotification,
  Notification,
  NotificationsRepository,
  StoredNotification,
} from './notifications.repository';
import { defaultPreference, type NotificationType, type Preference } from './notifications.schemas';

/**
 * Outbox topic of a transaction's new notifications: ONE row (up to CREATED_PER_ROW of them), not one
 * row each, so a broadcast to thousands is a handful of rows to write, claim and publish.
 */
export const TOPIC_NOTIFICATIONS_CREATED = 'notifications.created-batch';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_NOTIFICATIONS_CREATED]: StoredNotification[];
  }
}

/** Notifications per outbox row (a row of 200 full-size notifications stays around 2 MB). */
const CREATED_PER_ROW = 200;

/** The outbox payloads of a transaction's new notifications. */
export function createdRows(stored: StoredNotification[]): StoredNotification[][] {
  const rows: StoredNotification[][] = [];
  for (let k = 0; k < stored.length; k += CREATED_PER_ROW) rows.push(stored.slice(k, k + CREATED_PER_ROW));
  return rows;
}

/** A feature's input, checked and cleaned (NotificationsService's prepareNotification). */
export interface PreparedNotification extends NewNotification {
  dedupeKey: string | null;
}

/** What a batch does for whom, decided from the recipients' accounts and preferences. */
export interface BatchPlan {
  /** Every live recipient, with the number of in-app rows it gets (0 only locks it). */
  counts: Map<number, number>;
  /** The in-app rows without a dedupe key, by recipient then input order; `i` is the input's index. */
  fresh: Array<{ p: PreparedNotification; i: number }>;
  /** Inputs with a dedupe key (their insert may hit the key): the one-by-one path. */
  keyed: number[];
  /** Inputs whose recipient wants an e-mail of this type. */
  mailed: number[];
}

/**
 * The plan's in-app rows with their sequence numbers: a recipient's rows take the `count` numbers up
 * to its new last one (`lastSeq`, what reserving answered), in input order.
 */
export function numberedRows(plan: BatchPlan, lastSeq: Map<number, number>): Array<NewNotification & { seq: number }> {
  const next = new Map([...plan.counts].map(([id, n]) => [id, lastSeq.get(id)! - n + 1]));
  return plan.fresh.map(({ p }) => {
    const seq = next.get(p.recipientId)!;
    next.set(p.recipientId, seq + 1);
    return { recipientId: p.recipientId, seq, type: p.type, title: p.title, body: p.body, data: p.data };
  });
}

/** Recipients and types of a batch, each once: what its reads ask about. */
export function batchKeys(prepared: PreparedNotification[]): { recipientIds: number[]; types: NotificationType[] } {
  return {
    recipientIds: [...new Set(prepared.map((p) => p.recipientId))],
    types: [...new Set(prepared.map((p) => p.type))],
  };
}

/**
 * Deleted accounts hear nothing; the others get what their preferences say. Sorted by recipient, so
 * a recipient's rows take its reserved numbers in input order.
 */
export function planBatch(
  prepared: PreparedNotification[],
  users: Map<number, UserContact>,
  prefs: Map<string, Preference>,
): BatchPlan {
  const order = prepared.map((p, i) => ({ p, i })).sort((a, b) => a.p.recipientId - b.p.recipientId || a.i - b.i);
  const plan: BatchPlan = { counts: new Map(), fresh: [], keyed: [], mailed: [] };
  for (const { p, i } of order) {
    if (!users.has(p.recipientId)) continue;
    plan.counts.set(p.recipientId, plan.counts.get(p.recipientId) ?? 0);
    if (p.dedupeKey !== null) {
      plan.keyed.push(i);
      continue;
    }
    const pref = prefs.get(`${p.recipientId}:${p.type}`) ?? defaultPreference(p.type);
    if (pref.inApp) {
      plan.fresh.push({ p, i });
      plan.counts.set(p.recipientId, plan.counts.get(p.recipientId)! + 1);
    }
    if (pref.email) plan.mailed.push(i);
  }
  return plan;
}

/**
 * A standalone batch (no caller's transaction) written as four round trips on the scripted pool
 * (src/infra/sql-script.ts) instead of seven statements through Sequelize: (1) the recipients'
 * accounts and preferences in one packet; (2) their counters moved on (the recipient locks, in id
 * order); (3) the rows inserted; (4) the live events' outbox rows and the commit in one packet. Same
 * statements, rows, numbers and locks as NotificationsService.notifyManyInTx. (Reading each row's
 * number from its counter inside the insert saved a round trip, but 500 scalar subqueries doubled
 * MariaDB's CPU for a broadcast.)
 *
 * Only for batches without dedupe keys; one where someone is to be mailed rolls back after the
 * reads and answers null (the mail path reads and writes the chat digest under the recipient lock:
 * the caller then takes the Sequelize path).
 */
export class ScriptedNotificationBatch {
  constructor(
    private readonly scripts: ScriptedTransactions,
    private readonly repo: NotificationsRepository,
    private readonly users: UsersService,
    private readonly outbox: Outbox,
    private readonly clock: Clock,
  ) {}

  async write(prepared: PreparedNotification[]): Promise<Array<Notification | null> | null> {
    if (prepared.some((p) => p.dedupeKey !== null)) throw new Error('scripted notification batch: dedupe keys');
    let wroteEvents = false;
    const out = await this.scripts.run(async (tx) => {
      const result = await this.once(tx, prepared);
      wroteEvents = result?.some(Boolean) ?? false;
      return result;
    });
    if (wroteEvents) this.outbox.committed();
    return out;
  }

  private async once(tx: ScriptedTransaction, prepared: PreparedNotification[]) {
    const { recipientIds, types } = batchKeys(prepared);
    const contactsRead = this.users.contactsRead(recipientIds);
    const prefsRead = this.repo.preferencesRead(recipientIds, types);
    const [contactRows, prefRows] = await tx.send([contactsRead.statement, prefsRead.statement]);
    const users = new Map(contactsRead.parse(contactRows as RowDataPacket[]).map((u) => [u.id, u]));
    const plan = planBatch(prepared, users, prefsRead.parse(prefRows as RowDataPacket[]));
    if (plan.mailed.length) {
      await tx.rollback();
      return null;
    }
    const out: Array<Notification | null> = new Array(prepared.length).fill(null);
    if (!plan.fresh.length) {
      await tx.send([], { commit: true });
      return out;
    }
    const reserve = this.repo.reserveSeqsRead(plan.counts);
    const rows = numberedRows(plan, reserve.parse((await tx.send([reserve.statement]))[0] as RowDataPacket[]));
    const insert = this.repo.insertManyRead(rows, this.clock.now());
    const stored = insert.parse((await tx.send([insert.statement]))[0] as RowDataPacket[]);
    await tx.send([this.outbox.rowsStatement(TOPIC_NOTIFICATIONS_CREATED, createdRows(stored))], { commit: true });
    stored.forEach((s, k) => (out[plan.fresh[k].i] = s.notification));
    return out;
  }
}
