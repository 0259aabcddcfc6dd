import type { Server as HttpServer } from 'node:http';
import type Joi from 'joi';
import type { Counter, Histogram } from 'prom-client';
import {
  createSocketServer,
  type AckReply,
  type AppServer,
  type AppSocket,
  type ClientEvent,
  type ClientPayload,
  type ClientToServerEvents,
  type ModuleSocketDocs,
  type ServerPayload,
  type ServerToClientEvents,
  type SocketServer,
} from '../../infra/realtime/socket';
import { LOGINS_REVOKED, type EventBus, type LoginsRevokedMessage } from '../../infra/realtime/bus';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { Config } from '../../config';
import { MAX_ACCESS_TOKEN_CHARS, type AuthUser, type VerifyAccessToken } from '../../http/auth';
import { Conflict, NotFound, RateLimited, toAppError } from '../../errors';

import { toFieldErrors } from '../../http/routes';
import { PRESENCE_HEARTBEAT_MS, type Presence, type PresenceEntry } from './chat.presence';
import type {
  ChatMessage,
  ChatRealtime,
  ChatService,
  ReadReceipt,
  SocketLimiter,
  SocketRegistrar,
  SocketTools,
} from './chat.service';
import * as s from './chat.schemas';
import { membershipKey } from './chat.repository';
import type { RelayItem } from './chat.relay';

declare module '../../infra/realtime/socket' {
  interface ClientToServerEvents {
    'room:join': ClientEvent<{ roomId: number }>;
    'room:leave': ClientEvent<{ roomId: number }>;
    'message:send': ClientEvent<{ roomId: number; body: string; clientId: string }>;
    'message:read': ClientEvent<{ roomId: number; messageId: number }>;
    typing: ClientEvent<{ roomId: number }>;
  }
  interface ServerToClientEvents {
    'message:new': (message: ChatMessage) => void;
    'message:read': (receipt: ReadReceipt) => void;
    typing: (event: { roomId: number; userId: number }) => void;
    'auth:expired': (event: { message: string }) => void;
    'auth:revoked': (event: { message: string }) => void;
    'server:shutdown': (event: { reconnect: true }) => void;
  }
  interface SocketData {
    /** Set by the handshake check, before the connection is accepted. */
    user: AuthUser;
  }
}

/**
 * Socket.io side of chat (API.md "Socket.io").
 *
 * Client → server, each answered through its acknowledgement with `{ ok: true, ... }` or
 * `{ ok: false, code, message, errors? }` (a missing ack is tolerated): `room:join`, `room:leave`,
 * `message:send` (ack `{ ok: true, message }`), `message:read`, `typing`.
 *
 * Server → client, to the sockets joined to the room: `message:new` (message; not to the socket
 * that sent it, whose ack carries it), `message:read` { roomId, userId, messageId },
 * `typing` { roomId, userId } (not to the typist's own sockets), and three connection-level events:
 *  - `auth:expired` { message }: the access token reached its `exp`; the server disconnects right
 *    after. Socket.io does not reconnect after a server-side disconnect: refresh the token, set
 *    `socket.auth.token` and call `socket.connect()`.
 *  - `auth:revoked` { message }: the login was revoked (logout, refresh reuse, password reset,
 *    account deleted); disconnected right after, on every instance.
 *  - `server:shutdown` { reconnect: true }: the instance is stopping; the transport is closed so the
 *    client reconnects on its own (to another instance). Rooms must be joined again after any reconnect,
 *    and missed messages fetched with `GET /chat/rooms/{id}/messages?after=<last id>`.
 */

/** Chat's events as /asyncapi.json documents them; the payload schemas are the handlers' own. */
export const CHAT_SOCKET_DOCS = {
  client: {
    'room:join': {
      summary: 'Join a room I am a member of, to receive its events; I count as present (no chat notifications)',
      payload: s.socketRoom,
      errors: ['NOT_FOUND', 'CONFLICT', 'UNAVAILABLE'],
    },
    'room:leave': { summary: 'Stop receiving a room’s events', payload: s.socketRoom },
    'message:send': {
      summary: 'Send a message; stored before the ack, which carries it. The same clientId again returns the first one',
      payload: s.socketSend,
      ack: s.sendAckSchema,
      errors: ['NOT_FOUND', 'FORBIDDEN', 'CONFLICT', 'UNAVAILABLE'],
    },
    'message:read': {
      summary: 'Move my read pointer forward to a message of the room',
      payload: s.socketRead,
      errors: ['NOT_FOUND', 'UNAVAILABLE'],
    },
    typing: {
      summary: 'Tell the room I am typing (relayed at most every 2 s per room)',
      payload: s.socketRoom,
      ack: s.typingAckSchema,
      errors: ['NOT_FOUND'],
    },
  },
  server: {
    'message:new': {
      summary: 'A new message in a joined room (not to the socket that sent it: its ack carries it)',
      payload: s.messageSchema,
    },
    'message:read': { summary: 'A member’s read pointer moved', payload: s.readReceiptSchema },
    typing: { summary: 'A member is typing (not to the typist’s own sockets)', payload: s.typingEventSchema },
    'auth:expired': {
      summary: 'The access token expired; the server disconnects. Refresh, set socket.auth.token, connect again',
      payload: s.loginEndedSchema,
    },
    'auth:revoked': {
      summary: 'The login ended (logout, refresh reuse, password reset, deletion); the server disconnects',
      payload: s.loginEndedSchema,
    },
    'server:shutdown': {
      summary: 'This instance is stopping; the client reconnects by itself (rejoin rooms, catch up with ?after=)',
      payload: s.shutdownSchema,
    },
  },
} satisfies ModuleSocketDocs;

/**
 * Sockets one user may hold open on one instance (tabs and devices); past it the handshake is refused
 * with `TOO_MANY_CONNECTIONS`.
 */
export const MAX_SOCKETS_PER_USER = 20;
/** Messages and typing events per socket per window (the per-user limit across instances is in the service). */
const SOCKET_LIMIT = 20;
const SOCKET_WINDOW_MS = 10_000;
/** A typing indicator is relayed at most this often per socket and room; extra ones are acked, not relayed. */
const TYPING_THROTTLE_MS = 2_000;
const MAX_JOINED_ROOMS = 100;
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long stop() waits for transports to flush the shutdown hint before cutting what is left. */
const SHUTDOWN_GRACE_MS = 1000;
/** room:join, room:leave and message:read per socket per window: each costs database queries. */
const SOCKET_OTHER_LIMIT = 60;
const VALIDATION: Joi.ValidationOptions = { abortEarly: false, stripUnknown: true, convert: true };

const roomName = (roomId: number) => `room:${roomId}`;
const userRoom = (userId: number) => `user:${userId}`;

/**
 * A fixed window counter, kept in memory because it belongs to one socket on one instance. Wall
 * clock on purpose: it limits real traffic, whatever the injected business clock says.
 */
class WindowLimiter {
  private start = 0;
  private used = 0;
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}
  /** Seconds to wait, or 0 when a point was taken. */
  take(now = Date.now()): number {
    if (now - this.start >= this.windowMs) {
      this.start = now;
      this.used = 0;
    }
    if (this.used >= this.max) return (this.start + this.windowMs - now) / 1000;
    this.used++;
    return 0;
  }
}

export interface SocketMetrics {
  ackDuration: Histogram<'event'>;
  messages: Counter<'via'>;
}

export interface ChatSocketsDeps {
  presence: Presence;
  verify: VerifyAccessToken;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  config: Config;
  metrics: SocketMetrics;
  /** The deny-list check; set, sockets of revoked logins are closed even if their announcement was missed. */
  revokedAmong?: (sessionIds: number[]) => Promise<Set<number>>;
  /**
   * The membership check; set, sockets leave the rooms their user was removed from even if the removal's
   * cluster-wide `socketsLeave` was lost (the removing instance died after its commit, Redis was away).
   */
  membershipsAmong?: (pairs: Array<{ roomId: number; userId: number }>) => Promise<Set<string>>;
  /** How often open sockets are re-checked against the deny-list and memberships (and after every bus reconnect). */
  revocationRecheckMs?: number;
}

/** Default period of the deny-list re-check of open sockets (the same as notification streams'). */
export const SOCKET_REVOCATION_RECHECK_MS = 30_000;

export type { AckReply };

export class ChatSockets implements ChatRealtime {
  private server: SocketServer | null = null;
  private readonly bySession = new Map<number, Set<AppSocket>>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private heartbeat: NodeJS.Timeout | null = null;
  private recheckTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private unsubscribeReconnect: (() => void) | null = null;
  private open = 0;
  /** Open sockets per user on this instance (the per-user cap). */
  private readonly perUser = new Map<number, number>();
  /** Every module's socket events (chat's own, meetups' live location), added on each connection. */
  private readonly registrars: SocketRegistrar[] = [];

  constructor(private readonly deps: ChatSocketsDeps) {}

  /** Adds a module's events to every socket that connects from now on (register before `attach`). */
  register(registrar: SocketRegistrar): void {
    this.registrars.push(registrar);
  }

  get openSockets(): number {
    return this.open;
  }

  private get io(): AppServer | null {
    return this.server?.io ?? null;
  }

  attach(http: HttpServer): void {
    const { config, logger } = this.deps;
    this.server = createSocketServer(http, {
      redisUrl: config.redisUrl,
      redisPrefix: config.redisPrefix,
      corsOrigins: config.corsOrigins,
      logger,
    });
    const io = this.server.io;
    io.use((socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      if (typeof token !== 'string' || !token || token.length > MAX_ACCESS_TOKEN_CHARS)
        return next(new Error('UNAUTHENTICATED'));
      this.deps.verify(token).then(
        (user) => {
          // Thousands of sockets from one account would exhaust memory and file descriptors: cap them.
          // The client may have gone while the token was checked: Socket.io then never emits
          // 'connection' (nor 'disconnect'), so a place counted for it would never be given back.
          if (socket.conn.readyState !== 'open') return next(new Error('UNAUTHENTICATED'));
          const held = this.perUser.get(user.id) ?? 0;
          if (held >= MAX_SOCKETS_PER_USER) return next(new Error('TOO_MANY_CONNECTIONS'));
          // Counted here, not on 'connection', so a burst of handshakes cannot all pass the check.
          this.perUser.set(user.id, held + 1);
          // Given back exactly once, on whichever comes first: the socket's end or its transport's.
          let counted = true;
          const release = () => {
            if (!counted) return;
            counted = false;
            const left = (this.perUser.get(user.id) ?? 1) - 1;
            if (left > 0) this.perUser.set(user.id, left);
            else this.perUser.delete(user.id);
          };
          socket.conn.once('close', release);
          socket.once('disconnect', release);
          socket.data.user = user;
          next();
        },
        (err) => {
          const { error } = toAppError(err);
          next(new Error(error.code === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : 'UNAVAILABLE'));
        },
      );
    });
    io.on('connection', (socket) => this.onConnection(socket));
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.bus.subscribe(LOGINS_REVOKED, (msg: LoginsRevokedMessage) => {
      for (const sid of msg.sessionIds ?? []) {
        for (const socket of this.bySession.get(sid) ?? [])
          this.kick(socket, 'auth:revoked', 'This login has been revoked');
      }
    });
    this.heartbeat = setInterval(() => void this.beat(), PRESENCE_HEARTBEAT_MS);
    this.heartbeat.unref();
    // Revocation must not hinge on one pub/sub message: an announcement published while the bus
    // subscriber was reconnecting is lost, and the revoked login's sockets would stay open. Re-check
    // the deny-list after every reconnect and periodically.
    // Room removals the same way: the adapter's socketsLeave is one pub/sub message too.
    const recheck = () => void this.recheckRevocations().then(() => this.recheckMemberships());
    this.unsubscribeReconnect = this.deps.bus.onReconnect(recheck);
    const every = this.deps.revocationRecheckMs ?? SOCKET_REVOCATION_RECHECK_MS;
    this.recheckTimer = setInterval(recheck, every);
    this.recheckTimer.unref();
  }

  /** Disconnects (with `auth:revoked`) the sockets of logins found on the deny-list; returns how many. */
  async recheckRevocations(): Promise<number> {
    const ids = [...this.bySession.keys()];
    if (!this.deps.revokedAmong || !ids.length) return 0;
    let revoked: Set<number>;
    try {
      revoked = await this.deps.revokedAmong(ids);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'socket revocation re-check failed; will retry');
      return 0;
    }
    let kicked = 0;
    for (const sid of revoked) {
      for (const socket of [...(this.bySession.get(sid) ?? [])]) {
        this.kick(socket, 'auth:revoked', 'This login has been revoked');
        kicked++;
      }
    }
    return kicked;
  }

  /** Makes this instance's sockets leave the rooms their user is no longer a member of; returns how many left. */
  async recheckMemberships(): Promise<number> {
    const io = this.io;
    if (!io || !this.deps.membershipsAmong) return 0;
    const entries = this.localEntries();
    if (!entries.length) return 0;
    const pairs = new Map(entries.map((e) => [membershipKey(e.roomId, e.userId), e]));
    let members: Set<string>;
    try {
      members = await this.deps.membershipsAmong([...pairs.values()]);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'socket membership re-check failed; will retry');
      return 0;
    }
    const gone = entries.filter((e) => !members.has(membershipKey(e.roomId, e.userId)));
    for (const e of gone) void io.of('/').sockets.get(e.socketId)?.leave(roomName(e.roomId));
    if (gone.length) void this.deps.presence.remove(gone).catch(() => undefined);
    return gone.length;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.unsubscribeReconnect?.();
    this.unsubscribeReconnect = null;
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    for (const timer of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
    const io = this.io;
    if (!io) return;
    const entries: PresenceEntry[] = [];
    const closed: Promise<void>[] = [];
    for (const socket of io.of('/').sockets.values()) {
      entries.push(...this.entriesOf(socket));
      closed.push(new Promise((resolve) => socket.once('disconnect', () => resolve())));
      socket.emit('server:shutdown', { reconnect: true });
      // Closing the transport (not socket.disconnect, which tells the client not to come back)
      // lets the client reconnect by itself; engine.io flushes the hint first.
      socket.conn.close();
    }
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise((resolve) => (grace = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(grace);
    await this.deps.presence.remove(entries).catch(() => undefined);
    await this.server!.close();
    this.server = null;
  }

  /**
   * Registers a validated, acknowledged handler: the payload is checked with `schema`, the result
   * of `fn` is spread into `{ ok: true }`, any error becomes `{ ok: false, code, message }`. Later
   * modules use it through `SocketTools.handle`.
   */
  handle<E extends keyof ClientToServerEvents>(
    socket: AppSocket,
    event: E,
    schema: Joi.ObjectSchema<ClientPayload<E>>,
    fn: (payload: ClientPayload<E>) => Promise<Record<string, unknown> | void>,
    limiter?: SocketLimiter,
  ): void {
    // The listener takes the raw arguments: what a client sends is only its declared payload once
    // `schema` has validated it.
    const on = socket.on.bind(socket) as (event: E, listener: (...args: unknown[]) => void) => void;
    on(event, async (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (reply: AckReply) => void) : null;
      const stopTimer = this.deps.metrics.ackDuration.startTimer({ event });
      let reply: AckReply;
      try {
        const wait = limiter?.take() ?? 0;
        if (wait > 0) throw RateLimited(wait);
        const { value, error } = schema.validate(args[0] ?? {}, VALIDATION);
        if (error) {
          const errors = toFieldErrors(error, '');
          reply = {
            ok: false,
            code: 'VALIDATION_FAILED',
            message: `Invalid payload: ${errors.map((e) => e.message).join('; ')}`,
            errors,
          };
        } else {
          reply = { ok: true, ...((await fn(value as ClientPayload<E>)) ?? {}) };
        }
      } catch (err) {
        const { error, unexpected } = toAppError(err);
        if (unexpected) this.deps.logger.error({ err, event }, 'socket handler failed');
        reply = {
          ok: false,
          code: error.code,
          message: error.detail,
          ...(error.errors ? { errors: error.errors } : {}),
        };
        if (error.code === 'RATE_LIMITED') reply.retryAfterSec = Number(error.headers['Retry-After']);
      }
      stopTimer();
      if (!ack) return;
      try {
        ack(reply);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, event }, 'socket ack failed');
      }
    });
  }

  // --- ChatRealtime (called by the service after commit) --------------------------------------

  /**
   * A committed batch's messages, to this instance's sockets only: every instance receives the batch
   * from the relay (chat.relay.ts) and emits it to its own members of each room.
   */
  emitLocal(items: RelayItem[]): void {
    const io = this.io;
    if (!io) return;
    for (const { message, except } of items) {
      const to = io.local.to(roomName(message.roomId));
      (except ? to.except(except) : to).emit('message:new', message);
    }
  }

  readMoved(receipt: ReadReceipt, originSocketId?: string): void {
    const io = this.io;
    if (!io) return;
    const to = io.to(roomName(receipt.roomId));
    (originSocketId ? to.except(originSocketId) : to).emit('message:read', receipt);
  }

  emitToUsers<E extends keyof ServerToClientEvents>(userIds: number[], event: E, payload: ServerPayload<E>): void {
    if (!this.io || !userIds.length) return;
    const to = this.io.to(userIds.map(userRoom));
    // Checked by the signature above; Socket.io's own emit typing cannot follow a generic event name.
    (to.emit as (event: E, payload: ServerPayload<E>) => boolean).call(to, event, payload);
  }

  memberRemoved(roomId: number, userId: number): void {
    this.io?.in(userRoom(userId)).socketsLeave(roomName(roomId));
    void this.deps.presence.removeUser(roomId, userId).catch(() => undefined);
  }

  // --- connection lifecycle -------------------------------------------------------------------

  private onConnection(socket: AppSocket): void {
    const user = socket.data.user;
    const { presence, logger } = this.deps;
    this.open++;
    let sockets = this.bySession.get(user.sessionId);
    if (!sockets) this.bySession.set(user.sessionId, (sockets = new Set()));
    sockets.add(socket);
    void socket.join(userRoom(user.id));

    socket.on('disconnecting', () => {
      const entries = this.entriesOf(socket);
      if (entries.length)
        void presence.remove(entries).catch((err) => logger.debug({ err: err.message }, 'presence cleanup failed'));
    });
    socket.on('disconnect', () => {
      this.open--;
      const timer = this.expiryTimers.get(socket.id);
      if (timer) clearTimeout(timer);
      this.expiryTimers.delete(socket.id);
      const set = this.bySession.get(user.sessionId);
      set?.delete(socket);
      if (set && !set.size) this.bySession.delete(user.sessionId);
    });

    // After the cleanup above is in place, since either may disconnect at once.
    this.armExpiry(socket, user);
    // A revocation published between our token check and the registration above would have missed
    // this socket; checking once more after registering closes that window.
    const token = (socket.handshake.auth as { token: string }).token;
    this.deps.verify(token).catch((err) => {
      if (toAppError(err).error.code === 'UNAUTHENTICATED')
        this.kick(socket, 'auth:revoked', 'This login has been revoked');
    });

    // An event nobody handles still gets an answer when the client waits for one.
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (typeof ack !== 'function' || socket.listeners(event as keyof ClientToServerEvents).length > 0) return;
      try {
        ack({ ok: false, code: 'NOT_FOUND', message: `Unknown event ${String(event).slice(0, 50)}` });
      } catch {
        // the client's problem, not ours
      }
    });

    const tools: SocketTools = {
      handle: (sock, event, schema, fn, limiter) => this.handle(sock, event, schema, fn, limiter),
      joinedRooms: (sock) => this.joinedRooms(sock),
    };
    for (const register of this.registrars) {
      try {
        register(socket, user, tools);
      } catch (err) {
        logger.error({ err }, 'socket handler registration failed');
      }
    }
  }

  /** The chat rooms a socket has joined, read from Socket.io's own room set (the single source of truth). */
  joinedRooms(socket: AppSocket): number[] {
    const out: number[] = [];
    for (const name of socket.rooms) if (name.startsWith('room:')) out.push(Number(name.slice(5)));
    return out;
  }

  private entriesOf(socket: AppSocket): PresenceEntry[] {
    const userId = socket.data.user.id;
    return this.joinedRooms(socket).map((roomId) => ({ roomId, userId, socketId: socket.id }));
  }

  /** Every joined room of every socket on this instance. */
  private localEntries(): PresenceEntry[] {
    const entries: PresenceEntry[] = [];
    for (const socket of this.io?.of('/').sockets.values() ?? []) entries.push(...this.entriesOf(socket));
    return entries;
  }

  private async beat(): Promise<void> {
    if (!this.io) return;
    const entries = this.localEntries();
    try {
      await this.deps.presence.touch(entries);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'presence heartbeat failed');
    }
  }

  /** No socket outlives its access token: at `exp` the client gets `auth:expired` and is disconnected. */
  private armExpiry(socket: AppSocket, user: AuthUser): void {
    const ms = user.exp * 1000 - this.deps.clock.now().getTime();
    if (ms <= 0) {
      this.kick(socket, 'auth:expired', 'The access token expired; reconnect with a fresh one');
      return;
    }
    const timer = setTimeout(
      () => this.kick(socket, 'auth:expired', 'The access token expired; reconnect with a fresh one'),
      Math.min(ms, MAX_TIMER_MS),
    );
    timer.unref();
    this.expiryTimers.set(socket.id, timer);
  }

  private kick(socket: AppSocket, event: 'auth:expired' | 'auth:revoked', message: string): void {
    if (!socket.connected) return;
    socket.emit(event, { message });
    socket.disconnect(true);
  }
}

/**
 * Chat's own client events (see the top of this file), added to every authenticated socket. The
 * limiters are per socket: one registrar call per connection.
 */
export function chatSocketEvents(chat: ChatService, presence: Presence): SocketRegistrar {
  return (socket, user, tools) => {
    const sendLimit = new WindowLimiter(SOCKET_LIMIT, SOCKET_WINDOW_MS);
    const typingLimit = new WindowLimiter(SOCKET_LIMIT, SOCKET_WINDOW_MS);
    const otherLimit = new WindowLimiter(SOCKET_OTHER_LIMIT, SOCKET_WINDOW_MS);
    const lastTyping = new Map<number, number>();

    tools.handle(
      socket,
      'room:join',
      s.socketRoom,
      async ({ roomId }) => {
        await chat.accessRoom(user.id, roomId, true);
        if (!socket.rooms.has(roomName(roomId)) && tools.joinedRooms(socket).length >= MAX_JOINED_ROOMS) {
          throw Conflict(`A socket joins at most ${MAX_JOINED_ROOMS} rooms; leave one first`);
        }
        // Presence first: once the ack says joined, notifications already skip this user.
        const entry = { roomId, userId: user.id, socketId: socket.id };
        await presence.touch([entry]);
        // The socket may have gone while we waited; joining it now would leak the room entry.
        if (!socket.connected) {
          await presence.remove([entry]);
          return;
        }
        await socket.join(roomName(roomId));
        // A removal that committed after the check above took this user's sockets out of the room
        // before this one was in it. Checked again now that it is in: a removal committing from here
        // on finds it there (its after-commit leave runs later), one committed before is seen here.
        if (!(await chat.isMember(roomId, user.id))) {
          await socket.leave(roomName(roomId));
          await presence.remove([entry]);
          throw NotFound('Chat room');
        }
      },
      otherLimit,
    );

    tools.handle(
      socket,
      'room:leave',
      s.socketRoom,
      async ({ roomId }) => {
        if (!socket.rooms.has(roomName(roomId))) return;
        await socket.leave(roomName(roomId));
        await presence.remove([{ roomId, userId: user.id, socketId: socket.id }]);
      },
      otherLimit,
    );

    tools.handle(
      socket,
      'message:send',
      s.socketSend,
      async ({ roomId, body, clientId }) => {
        const { message } = await chat.send(
          user.id,
          roomId,
          { body, clientId },
          { via: 'socket', socketId: socket.id },
        );
        return { message };
      },
      sendLimit,
    );

    tools.handle(
      socket,
      'message:read',
      s.socketRead,
      async ({ roomId, messageId }) => {
        await chat.markRead(user.id, roomId, messageId, 'messageId', socket.id);
      },
      otherLimit,
    );

    tools.handle(
      socket,
      'typing',
      s.socketRoom,
      async ({ roomId }) => {
        if (!socket.rooms.has(roomName(roomId))) await chat.accessRoom(user.id, roomId, false);
        const now = Date.now();
        if (now - (lastTyping.get(roomId) ?? 0) < TYPING_THROTTLE_MS) return { relayed: false };
        lastTyping.set(roomId, now);
        socket.to(roomName(roomId)).except(userRoom(user.id)).emit('typing', { roomId, userId: user.id });
        return { relayed: true };
      },
      typingLimit,
    );
  };
}

export { WindowLimiter };
