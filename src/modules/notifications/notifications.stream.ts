import type { Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import type { EventBus, KeyedChannels } from '../../infra/realtime/bus';
import { LOGINS_REVOKED, type LoginsRevokedMessage } from '../../infra/realtime/bus';
import { SseHub, type SseStream, type StreamDoc } from '../../infra/realtime/sse';
import { countSchema, notificationSchema, streamQuery } from './notifications.schemas';
import type { Logger } from '../../infra/logger';
import type { AuthUser } from '../../http/auth';
import { Unavailable } from '../../errors';
import type { NotificationsRepository, StoredNotification } from './notifications.repository';

/**
 * One bus channel per user (a keyed channel): an instance subscribes to a user's channel while it
 * holds one of that user's streams, so it hears only about its own streams' users, however many
 * instances there are.
 */
export const CHANNEL_USER = 'notifications.user';
declare module '../../infra/realtime/bus' {
  interface BusKeyedChannels {
    [CHANNEL_USER]: UserEventMessage;
  }
}

/** What a user's channel carries: new notifications (in sequence order), or "the unread count changed". */
export interface UserEventMessage {
  created?: StoredNotification[];
  unread?: true;
}

export interface UnreadChangedMessage {
  userId: number;
}

/** The messages for a batch of new notifications: one per recipient, carrying that recipient's rows. */
export function userMessages(rows: StoredNotification[]): Array<[number, UserEventMessage]> {
  const byUser = new Map<number, StoredNotification[]>();
  for (const row of rows) {
    const list = byUser.get(row.recipientId);
    if (list) list.push(row);
    else byUser.set(row.recipientId, [row]);
  }
  return [...byUser].map(([userId, created]) => [userId, { created }]);
}

/** The stream as /asyncapi.json documents it (events, resume, auth); `path` is relative to /api/v1. */
export const NOTIFICATION_STREAM_DOCS: StreamDoc = {
  path: '/notifications/stream',
  summary: 'My notifications, live (Server-Sent Events)',
  description:
    'GET with `Authorization: Bearer <token>` or, for EventSource, `?access_token=`. Sends `unread-count` first, ' +
    'then each new notification as a `notification` event whose `id:` is the notification id, and a fresh ' +
    '`unread-count` after every read (any instance). With `Last-Event-ID` (header, or `?lastEventId=`) it first ' +
    'replays every notification after that id (up to 500 per connection, then it ends with `retry: 0`), then ' +
    'continues live without gap or duplicate. A `: ping` comment every 15 s. The stream outlives its token’s ' +
    'expiry and closes when the login is revoked. 429 past 10 open streams per user per instance or 60 ' +
    'connections per user per minute.',
  query: streamQuery,
  events: {
    'unread-count': { summary: 'How many of my notifications are unread', data: countSchema },
    notification: { summary: 'A new notification', data: notificationSchema, id: 'the notification id' },
  },
};

/** Rows replayed per connection; past it the stream ends with a short retry and the client continues from there. */
const REPLAY_MAX = 500;
const REPLAY_BATCH = 100;
/** Live events (≤ ~10 KB each) a stream may hold while it catches up from MySQL; past it, the client reconnects and replays. */
const PENDING_MAX = 200;
/**
 * Redis pub/sub delivers at most once: a message published while this instance's subscriber was
 * reconnecting is gone. This often, every stream is compared with MySQL and what it missed is sent.
 */
const SWEEP_MS = 30_000;
/** A client that takes longer than this to read half a buffer during a replay is cut (it replays later). */
const DRAIN_TIMEOUT_MS = 5000;
/**
 * How long an opening stream waits for Redis to confirm its user's channel before it reads MySQL.
 * Past it (Redis unreachable) the stream opens anyway: what it misses live, the sweep brings.
 */
const JOIN_WAIT_MS = 2000;

interface Live {
  stream: SseStream;
  userId: number;
  /** Sequence number of the last notification this stream has covered; null while it is being set up. */
  lastSeq: number | null;
  pending: StoredNotification[];
  busy: boolean;
  /** Set by the sweep: MySQL has rows up to this sequence that no live event brought yet. */
  catchUpTo: number;
  /** A fresh count that arrived during setup, sent once the stream is live. */
  pendingCount: boolean;
}

/**
 * The notification streams of one instance. Every stream first subscribes (buffers), then reads
 * where it starts from MySQL, replays after Last-Event-ID, and only then delivers the buffer, so
 * nothing falls between the replay and the live part. Live events carry the per-recipient sequence
 * number: a duplicate is skipped, and a gap (events reach instances in any order) is filled from
 * MySQL before the later event is written, so every stream sees its user's notifications in order.
 */
/** How often open streams are checked against the login deny-list, besides after a bus reconnect. */
export const REVOCATION_RECHECK_MS = 30_000;

export class NotificationStreams {
  readonly hub: SseHub;
  private readonly live = new Map<SseStream, Live>();
  private readonly replays: Counter<'hub'>;
  private readonly received: Counter;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly counting = new Map<number, boolean>();
  private readonly users: KeyedChannels<typeof CHANNEL_USER>;
  private sweepTimer: NodeJS.Timeout | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: NotificationsRepository,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    registry: Registry,
    /** The deny-list check; set, streams of revoked logins are closed even if their announcement was missed. */
    private readonly revokedAmong?: (sessionIds: number[]) => Promise<Set<number>>,
  ) {
    // One close handler for every stream: a closure per stream would live as long as the stream.
    this.hub = new SseHub({ name: 'notifications', registry, onClose: (stream) => this.forget(stream) });
    this.users = bus.keyed(CHANNEL_USER, (userId, msg) => this.onUserEvent(userId, msg));
    // What fan-out costs this instance: with per-user channels, only its own streams' users' messages.
    this.received =
      (registry.getSingleMetric('pawmate_notification_messages_received_total') as Counter | undefined) ??
      new Counter({
        name: 'pawmate_notification_messages_received_total',
        help: "Bus messages received on the channels of this instance's stream users",
        registers: [registry],
      });
    const existing = registry.getSingleMetric('pawmate_sse_replays_total') as Counter<'hub'> | undefined;
    this.replays =
      existing ??
      new Counter({
        name: 'pawmate_sse_replays_total',
        help: 'Streams that replayed after Last-Event-ID',
        labelNames: ['hub'],
        registers: [registry],
      });
  }

  async start(): Promise<void> {
    this.unsubscribe.push(
      await this.bus.subscribe(LOGINS_REVOKED, (msg: LoginsRevokedMessage) => {
        this.hub.closeSessions(msg.sessionIds ?? [], msg.userId);
      }),
    );
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    // Revocation must not hinge on one pub/sub message: a publish missed while the subscriber was
    // reconnecting would leave a revoked login's stream open. Re-check after every reconnect and
    // every REVOCATION_RECHECK_MS.
    this.unsubscribe.push(this.bus.onReconnect(() => void this.recheckRevocations()));
    this.recheckTimer = setInterval(() => void this.recheckRevocations(), REVOCATION_RECHECK_MS);
    this.recheckTimer.unref();
  }

  /** Closes the streams of logins found on the deny-list; returns how many. */
  async recheckRevocations(): Promise<number> {
    const ids = this.hub.sessionIds();
    if (!this.revokedAmong || !ids.length) return 0;
    try {
      const revoked = await this.revokedAmong(ids);
      return revoked.size ? this.hub.closeSessions([...revoked]) : 0;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'revocation re-check failed; will retry');
      return 0;
    }
  }

  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
    for (const u of this.unsubscribe.splice(0)) u();
    this.hub.stop();
  }

  /**
   * Opens a stream for `user`. Throws (→ problem response) while nothing is written yet: over the
   * per-user cap (429) or MySQL unreachable (503). Once the headers are out, failures end the stream.
   */
  async open(user: AuthUser, res: Response, lastEventId: number | null, recheck?: () => Promise<void>): Promise<void> {
    const stream = this.hub.register(user.id, user.sessionId, res);
    const state: Live = {
      stream,
      userId: user.id,
      lastSeq: null,
      pending: [],
      busy: false,
      catchUpTo: 0,
      pendingCount: false,
    };
    this.live.set(stream, state);
    // Subscribed to the user's channel (and registered) first, read second: whatever commits after
    // the read below arrives live.
    const joined = this.users.join(user.id);
    let startSeq: number;
    let count: number;
    try {
      await within(joined, JOIN_WAIT_MS);
      // A login revoked between the token check and the registration above would be missed: check again.
      await recheck?.();
      startSeq = await this.repo.lastSeq(user.id);
      count = await this.repo.unreadCount(user.id);
    } catch (err) {
      stream.finish();
      throw err;
    }
    if (stream.closed) {
      // Closed before it began: the client left, or the login was revoked or the instance is stopping meanwhile.
      if (res.headersSent || res.destroyed || res.writableEnded) return;
      await recheck?.();
      throw Unavailable('The stream could not be opened; reconnect');
    }
    this.hub.begin(stream, res);
    stream.send({ event: 'unread-count', data: { count } });

    let lastSeq = startSeq;
    if (lastEventId !== null) {
      this.replays.inc({ hub: this.hub.name });
      try {
        const replayed = await this.replay(state, lastEventId);
        if (replayed === 'truncated') {
          // More than one connection's worth: the client comes straight back with the last id it got.
          stream.close(0);
          return;
        }
        if (replayed !== null) lastSeq = Math.max(lastSeq, replayed);
      } catch (err) {
        this.logger.warn(
          { err: (err as Error).message, userId: user.id },
          'notification replay failed; closing stream',
        );
        stream.close(this.hub.retryMs());
        return;
      }
    }
    state.lastSeq = lastSeq;
    if (state.pendingCount) void this.sendCount(user.id);
    void this.pump(state);
  }

  /** A stream closed (any cause): its state goes, and its user's channel with its user's last stream here. */
  private forget(stream: SseStream): void {
    if (this.live.delete(stream)) this.users.leave(stream.key);
  }

  /** Writes rows after `afterId` in id order; returns the last sequence written (null if none) or 'truncated'. */
  private async replay(state: Live, afterId: number): Promise<number | null | 'truncated'> {
    let cursor = afterId;
    let sent = 0;
    let lastSeq: number | null = null;
    for (;;) {
      const rows = await this.repo.after(state.userId, cursor, REPLAY_BATCH);
      for (const row of rows) {
        if (!(await this.writePaced(state, row))) return null;
        cursor = row.notification.id;
        lastSeq = row.seq;
        sent++;
      }
      if (rows.length < REPLAY_BATCH) return lastSeq;
      if (sent >= REPLAY_MAX) return 'truncated';
    }
  }

  private write(state: Live, row: StoredNotification): boolean {
    return state.stream.send({ id: row.notification.id, event: 'notification', data: row.notification });
  }

  /**
   * For bulk writes (replay, gap filling): waits for the socket once half the buffer cap is queued,
   * so a client that does read is never cut for our burst; one that does not is cut by the cap as usual.
   */
  private async writePaced(state: Live, row: StoredNotification): Promise<boolean> {
    if (!this.write(state, row)) return false;
    if (state.stream.buffered > this.hub.maxBufferedBytes / 2 && !(await state.stream.drained(DRAIN_TIMEOUT_MS))) {
      state.stream.drop('slow');
      return false;
    }
    return !state.stream.closed;
  }

  private onUserEvent(userId: number, msg: UserEventMessage): void {
    this.received.inc();
    if (!msg) return;
    if (Array.isArray(msg.created)) for (const row of msg.created) this.onCreated(userId, row);
    if (msg.unread) this.onUnreadChanged(userId);
  }

  private onCreated(userId: number, msg: StoredNotification): void {
    if (!msg || msg.recipientId !== userId || typeof msg.seq !== 'number' || typeof msg.notification?.id !== 'number')
      return;
    for (const stream of this.hub.streamsOf(userId)) {
      const state = this.live.get(stream);
      if (!state) continue;
      // The common case, the very next event of an idle stream: written at once, without the pump.
      if (!state.busy && !state.pending.length && state.lastSeq !== null && msg.seq === state.lastSeq + 1) {
        if (this.write(state, msg)) state.lastSeq = msg.seq;
        continue;
      }
      if (state.pending.length >= PENDING_MAX) {
        stream.drop('pending');
        continue;
      }
      state.pending.push(msg);
      void this.pump(state);
    }
  }

  /** Delivers buffered live events in sequence order, filling gaps from MySQL. One pump per stream at a time. */
  private async pump(state: Live): Promise<void> {
    if (state.busy || state.lastSeq === null) return;
    state.busy = true;
    try {
      while (!state.stream.closed) {
        if (!state.pending.length) {
          if (state.catchUpTo <= state.lastSeq!) break;
          await this.fillGap(state, state.catchUpTo + 1);
          continue;
        }
        state.pending.sort((a, b) => a.seq - b.seq);
        const next = state.pending.shift()!;
        if (next.seq <= state.lastSeq!) continue; // already replayed or delivered
        if (next.seq > state.lastSeq! + 1) await this.fillGap(state, next.seq);
        if (state.stream.closed) return;
        if (next.seq <= state.lastSeq!) continue;
        if (!this.write(state, next)) return;
        state.lastSeq = next.seq;
      }
    } catch (err) {
      // MySQL unreachable mid-stream: the client reconnects with its Last-Event-ID and loses nothing.
      this.logger.warn(
        { err: (err as Error).message, userId: state.userId },
        'notification gap fill failed; closing stream',
      );
      state.stream.close(this.hub.retryMs());
    } finally {
      state.busy = false;
    }
  }

  /**
   * The event for `beforeSeq` arrived before some earlier ones. They committed before it (the
   * recipient lock orders commits), so MySQL has them: write them now, in order.
   */
  private async fillGap(state: Live, beforeSeq: number): Promise<void> {
    for (;;) {
      const rows = await this.repo.betweenSeq(state.userId, state.lastSeq!, beforeSeq, REPLAY_BATCH);
      for (const row of rows) {
        if (!(await this.writePaced(state, row))) return;
        state.lastSeq = row.seq;
      }
      if (rows.length < REPLAY_BATCH) break;
    }
    // A row that no longer exists (its user was deleted) must not stall the stream.
    state.lastSeq = Math.max(state.lastSeq!, beforeSeq - 1);
  }

  /** Compares every local stream with the committed sequence numbers and fills what a lost message left out. */
  async sweep(): Promise<void> {
    const users = this.hub.keys();
    for (let i = 0; i < users.length; i += 500) {
      let seqs: Map<number, number>;
      try {
        seqs = await this.repo.lastSeqs(users.slice(i, i + 500));
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'notification stream sweep failed; next one retries');
        return;
      }
      for (const [userId, seq] of seqs) {
        for (const stream of this.hub.streamsOf(userId)) {
          const state = this.live.get(stream);
          if (!state || state.lastSeq === null || state.lastSeq >= seq) continue;
          state.catchUpTo = Math.max(state.catchUpTo, seq);
          void this.pump(state);
        }
      }
    }
  }

  /** A read somewhere: every stream of that user gets a fresh count (streams still being set up get it once live). */
  private onUnreadChanged(userId: number): void {
    if (!Number.isInteger(userId)) return;
    let ready = false;
    for (const stream of this.hub.streamsOf(userId)) {
      const state = this.live.get(stream);
      if (!state) continue;
      if (state.lastSeq === null) state.pendingCount = true;
      else ready = true;
    }
    if (ready) void this.sendCount(userId);
  }

  /** One count query per user per instance, whatever the number of streams; a change during the query triggers another. */
  private async sendCount(userId: number): Promise<void> {
    if (this.counting.has(userId)) {
      this.counting.set(userId, true);
      return;
    }
    this.counting.set(userId, false);
    try {
      do {
        this.counting.set(userId, false);
        let count: number;
        try {
          count = await this.repo.unreadCount(userId);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message, userId }, 'unread count failed; streams keep the old count');
          return;
        }
        for (const stream of this.hub.streamsOf(userId)) {
          const state = this.live.get(stream);
          if (!state || state.lastSeq === null) continue;
          state.pendingCount = false;
          stream.send({ event: 'unread-count', data: { count } });
        }
      } while (this.counting.get(userId));
    } finally {
      this.counting.delete(userId);
    }
  }
}

/** Resolves when `p` does or after `ms`, whichever comes first. */
function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
