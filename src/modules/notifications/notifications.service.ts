import type { Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import { type Outbox } from '../../infra/outbox';
import { templates } from '../../infra/mail/templates';
import { NotFound } from '../../errors';
import { decodeIdCursor, paginate } from '../../http/cursor';
import { TOPIC_MAIL } from '../auth/auth.service';
import type { UserContact, UsersService } from '../users/users.service';
import { NotificationsRepository, type Notification, type StoredNotification } from './notifications.repository';
import {
  TOPIC_NOTIFICATIONS_CREATED,
  batchKeys,
  createdRows,
  numberedRows,
  planBatch,
  type PreparedNotification,
  type ScriptedNotificationBatch,
} from './notifications.batch';
import {
  BODY_MAX,
  DATA_MAX_BYTES,
  NOTIFICATION_TYPES,
  TITLE_MAX,
  defaultPreference,
  notifyInput,
  type NotificationType,
  type Preference,
} from './notifications.schemas';
import type { UnreadChangedMessage } from './notifications.stream';

/**
 * Outbox topics: the live events and the fresh-count signal are published only once the change
 * commits. New notifications go as TOPIC_NOTIFICATIONS_CREATED (notifications.batch.ts), many per
 * row; TOPIC_NOTIFICATION_CREATED (one row per notification) is what earlier versions wrote, and
 * rows of it left in the table are still carried out.
 */
export { TOPIC_NOTIFICATIONS_CREATED };
export const TOPIC_NOTIFICATION_CREATED = 'notifications.created';
export const TOPIC_UNREAD_CHANGED = 'notifications.unread-changed';
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_NOTIFICATION_CREATED]: StoredNotification;
    [TOPIC_UNREAD_CHANGED]: UnreadChangedMessage;
  }
}

/** At most one chat e-mail per room per this window. */
export const CHAT_DIGEST_WINDOW_MS = 15 * 60 * 1000;

export interface NotifyInput {
  recipientId: number;
  type: NotificationType;
  title: string;
  body?: string;
  /** Small JSON object for the client to link with (e.g. `{ roomId }`, `{ reservationId }`); ≤ 8 KB. */
  data?: Record<string, unknown> | null;
  /**
   * Optional, e.g. `chat:<messageId>`: a second notify with the same key for the same recipient
   * (an outbox row that ran twice) stores, streams and mails nothing. Applies to stored rows, so
   * it needs in-app on.
   */
  dedupeKey?: string | null;
}

export interface NotificationsSettings {
  /** Base of the links in mails (the front end's pages). */
  appUrl: string;
}

/** Removes control characters; newlines only where they are allowed (not in a title / mail subject). */
function clean(s: string, max: number, keepNewlines: boolean): string {
  const pattern = keepNewlines ? /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g : /[\u0000-\u001F\u007F]+/g;
  const out = s.replace(pattern, keepNewlines ? '' : ' ').trim();
  // By code point, as MySQL counts them: never cut an emoji in half.
  const chars = Array.from(out);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : out;
}

/** A feature's input checked and cleaned (a bad one is a programming error: it throws). */
function prepareNotification(input: NotifyInput): PreparedNotification {
  const { value, error } = notifyInput.validate(input, { stripUnknown: true });
  if (error) throw new Error(`notify: ${error.message}`);
  const data = (value.data ?? null) as Record<string, unknown> | null;
  if (data !== null && Buffer.byteLength(JSON.stringify(data), 'utf8') > DATA_MAX_BYTES) {
    throw new Error(`notify: data exceeds ${DATA_MAX_BYTES} bytes`);
  }
  const type = value.type as NotificationType;
  return {
    recipientId: value.recipientId as number,
    type,
    title: clean(value.title, TITLE_MAX, false) || type,
    body: clean(value.body ?? '', BODY_MAX, true),
    data,
    dedupeKey: (value.dedupeKey ?? null) as string | null,
  };
}

/** An optional field in a content key: absent (0) and present, even as null ([null]), stay apart. */
const present = (v: unknown) => (v === undefined ? 0 : [v]);

/**
 * prepareNotification for a batch: inputs that differ only in their recipient share one validation
 * (a broadcast is one content for thousands, and joi costs more than the rest of the row).
 */
function prepareNotifications(inputs: NotifyInput[]): PreparedNotification[] {
  const byContent = new Map<string, PreparedNotification>();
  return inputs.map((input) => {
    // Anything joi would convert or refuse (a string id, say) takes the full validation.
    if (typeof input.recipientId !== 'number' || !Number.isSafeInteger(input.recipientId) || input.recipientId < 1)
      return prepareNotification(input);
    // Absent and null differ to joi (a null body is refused): an absent field is keyed apart.
    const key = JSON.stringify([input.type, input.title, ...[input.body, input.data, input.dedupeKey].map(present)]);
    let prepared = byContent.get(key);
    if (!prepared) {
      prepared = prepareNotification(input);
      byContent.set(key, prepared);
    }
    return { ...prepared, recipientId: input.recipientId };
  });
}

/**
 * Stores, streams and mails notifications. Every feature calls `notify` after its own commit, or
 * `notifyInTx` inside its transaction (the outbox rows go out once that transaction commits).
 */
export class NotificationsService {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly repo: NotificationsRepository,
    private readonly users: UsersService,
    private readonly outbox: Outbox,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: NotificationsSettings,
    private readonly scripted: ScriptedNotificationBatch,
  ) {}

  /** Returns the stored notification, or null when the recipient turned in-app off (or no longer exists). */
  async notify(input: NotifyInput): Promise<Notification | null> {
    return inTransaction(this.sequelize, (t) => this.notifyInTx(t, input));
  }

  /**
   * Several recipients in one transaction, locked in id order so two such calls cannot deadlock. A
   * batch without dedupe keys or e-mails is written in four round trips on the scripted pool
   * (ScriptedNotificationBatch: the chat's notifications of members away from the room go that way);
   * any other takes notifyManyInTx's statements.
   */
  async notifyMany(inputs: NotifyInput[]): Promise<Array<Notification | null>> {
    const prepared = prepareNotifications(inputs);
    if (prepared.length && prepared.every((p) => p.dedupeKey === null)) {
      const out = await this.scripted.write(prepared);
      if (out) return out; // null: someone is to be mailed, and nothing was written
    }
    return inTransaction(this.sequelize, (t) => this.writeBatch(t, inputs, prepared));
  }

  /**
   * The same as notifyInTx for each input, in a handful of statements for the whole batch whatever its
   * size: the recipients' accounts and preferences are read, their locks taken (id order) with their
   * sequence numbers reserved, the rows inserted and their live events written, each at once. Inputs
   * with a dedupe key, whose insert may hit the key, take the one-by-one path afterwards (the locks
   * are held already, the counters are current).
   */
  notifyManyInTx(t: Transaction, inputs: NotifyInput[]): Promise<Array<Notification | null>> {
    return this.writeBatch(t, inputs, prepareNotifications(inputs));
  }

  private async writeBatch(
    t: Transaction,
    inputs: NotifyInput[],
    prepared: PreparedNotification[],
  ): Promise<Array<Notification | null>> {
    const out: Array<Notification | null> = new Array(inputs.length).fill(null);
    const { recipientIds, types } = batchKeys(prepared);
    const users = new Map((await this.users.contactsOf(recipientIds, t)).map((u) => [u.id, u]));
    // Read before the locks: preferences are not guarded by them (an update takes no recipient lock).
    const prefs = await this.repo.preferencesOf(recipientIds, types, t);
    const plan = planBatch(prepared, users, prefs);
    // Every live recipient is locked (the chat digest's read-then-write relies on it), and moved on by its new rows.
    const rows = numberedRows(plan, await this.repo.reserveSeqs(plan.counts, t));
    const now = this.clock.now();
    const stored = await this.repo.insertMany(rows, now, t);
    await this.outbox.addMany(t, TOPIC_NOTIFICATIONS_CREATED, createdRows(stored));
    stored.forEach((s, k) => (out[plan.fresh[k].i] = s.notification));
    for (const i of plan.mailed) {
      const p = prepared[i];
      await this.mailInTx(t, users.get(p.recipientId)!, p.type, p.title, p.body, p.data, now);
    }
    for (const i of plan.keyed) out[i] = await this.notifyInTx(t, inputs[i]);
    return out;
  }

  /**
   * Inside the caller's transaction: takes the recipient's lock row, applies the preferences, stores
   * the row and writes the live event (and the e-mail) to the outbox, so a rollback leaves nothing
   * and a Redis or SMTP outage only delays them.
   */
  async notifyInTx(t: Transaction, input: NotifyInput): Promise<Notification | null> {
    const { recipientId, type, title, body, data, dedupeKey } = prepareNotification(input);
    const user = await this.users.findById(recipientId, t);
    if (!user) return null; // deleted accounts hear nothing
    const lastSeq = await this.repo.lockRecipient(recipientId, t);
    const pref = (await this.repo.preference(recipientId, type, t)) ?? defaultPreference(type);
    const now = this.clock.now();

    let created: StoredNotification | null = null;
    if (pref.inApp) {
      created = await this.repo.insert({ recipientId, seq: lastSeq + 1, type, title, body, data, dedupeKey }, now, t);
      if (!created) return null; // already notified under this key
      await this.outbox.add(t, TOPIC_NOTIFICATIONS_CREATED, [created]);
    }
    if (pref.email) await this.mailInTx(t, user, type, title, body, data, now);
    return created?.notification ?? null;
  }

  private async mailInTx(
    t: Transaction,
    user: UserContact,
    type: NotificationType,
    title: string,
    body: string,
    data: Record<string, unknown> | null,
    now: Date,
  ): Promise<void> {
    const base = this.settings.appUrl;
    if (type !== 'chat.message') {
      await this.outbox.add(
        t,
        TOPIC_MAIL,
        templates.notification(user.email, user.nickname, title, body, `${base}/notifications`),
      );
      return;
    }
    // Chat: the recipient lock is held, so this read-then-write of the digest row cannot race.
    const rawRoom = Number(data?.roomId);
    const roomId = Number.isInteger(rawRoom) && rawRoom > 0 && rawRoom <= 4294967295 ? rawRoom : 0;
    const digest = await this.repo.lockDigest(user.id, roomId, t);
    if (digest && now.getTime() - digest.lastSentAt.getTime() < CHAT_DIGEST_WINDOW_MS) {
      await this.repo.digestSuppressed(user.id, roomId, t);
      return;
    }
    const url = roomId ? `${base}/chat/rooms/${roomId}` : `${base}/notifications`;
    await this.outbox.add(
      t,
      TOPIC_MAIL,
      templates.chatDigest(user.email, user.nickname, title, body, digest?.suppressed ?? 0, url),
    );
    await this.repo.digestSent(user.id, roomId, now, t);
  }

  // --- the recipient's side ------------------------------------------------------------------

  async list(userId: number, q: { unread: boolean; limit: number; cursor?: string }) {
    const beforeId = decodeIdCursor(q.cursor);
    const rows = await this.repo.list(userId, { unread: q.unread, beforeId, limit: q.limit + 1 });
    return paginate(rows, q.limit, (last) => ({ id: last.id }));
  }

  unreadCount(userId: number): Promise<number> {
    return this.repo.unreadCount(userId);
  }

  /** Idempotent; someone else's (or a missing) notification is 404. */
  async markRead(userId: number, id: number): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      const row = await this.repo.lockOwned(id, userId, t);
      if (!row) throw NotFound('Notification');
      if (row.readAt) return;
      await this.repo.markRead(id, this.clock.now(), t);
      await this.unreadChanged(userId, t);
    });
  }

  async markAllRead(userId: number): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      const n = await this.repo.markAllRead(userId, this.clock.now(), t);
      if (n > 0) await this.unreadChanged(userId, t);
    });
  }

  private unreadChanged(userId: number, t: Transaction) {
    const msg: UnreadChangedMessage = { userId };
    return this.outbox.add(t, TOPIC_UNREAD_CHANGED, msg);
  }

  async preferences(userId: number): Promise<{ preferences: Record<NotificationType, Preference> }> {
    const stored = await this.repo.preferences(userId);
    const preferences = Object.fromEntries(
      NOTIFICATION_TYPES.map((type) => [type, stored.get(type) ?? defaultPreference(type)]),
    ) as Record<NotificationType, Preference>;
    return { preferences };
  }

  /** Partial: only the types (and flags) given change. */
  async updatePreferences(userId: number, changes: Partial<Record<NotificationType, Partial<Preference>>>) {
    const now = this.clock.now();
    await inTransaction(this.sequelize, async (t) => {
      // Sorted, so two concurrent updates of one user take the row locks in the same order.
      for (const type of Object.keys(changes).sort() as NotificationType[]) {
        const change = changes[type];
        if (!change || (change.inApp === undefined && change.email === undefined)) continue;
        await this.repo.upsertPreference(userId, type, change, defaultPreference(type), now, t);
      }
    });
    this.logger.debug({ userId, types: Object.keys(changes) }, 'notification preferences changed');
    return this.preferences(userId);
  }
}
