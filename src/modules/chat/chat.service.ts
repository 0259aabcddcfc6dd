import { UniqueConstraintError, type Sequelize, type Transaction } from 'sequelize';
import type { LeasedLimiter } from '../../http/leased-limit';
import { inTransaction, isDeadlock } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import { type Outbox } from '../../infra/outbox';
import type { ScriptedTransactions } from '../../infra/sql-script';
import { Forbidden, NotFound, ValidationFailed } from '../../errors';
import { cursorDate, cursorId, decodeCursor, paginate } from '../../http/cursor';
import type { UsersService } from '../users/users.service';
import type { PublicUser } from '../users/users.presenter';
import type { ChatRepository, MemberRoomRow, MessageRow, NewRoom, RoomRow, RoomType } from './chat.repository';
import type { Presence } from './chat.presence';
import { GroupCommit, type BatchedSend, type GroupCommitOptions } from './chat.batch';
import { ChatBatchStatements } from './chat.batch-statements';
import { BatchWriter, type BatchPhase, type ChatNotifyPayload, type SendResult } from './chat.send';
import type { ChatRelay, RelayItem } from './chat.relay';
import type {
  AppSocket,
  ClientPayload,
  ClientToServerEvents,
  ServerPayload,
  ServerToClientEvents,
} from '../../infra/realtime/socket';
import Joi from 'joi';
import type { AuthUser } from '../../http/auth';

export { TOPIC_CHAT_NOTIFY } from './chat.send';

/** Members listed per room in room JSON; `memberCount` carries the total (open post rooms grow). */
const MEMBERS_SHOWN = 100;
/** Notifications fanned out per message at most (an open post room could have thousands of members). */
const NOTIFY_MAX_RECIPIENTS = 500;
const NOTIFY_BODY_MAX = 140;

export interface ChatMessage {
  id: number;
  roomId: number;
  senderId: number;
  body: string;
  clientId: string;
  createdAt: string;
  /** True when `body` is a placeholder: reports hid the message (from all but its sender) or an operator removed it. */
  hidden: boolean;
}

/** What others read instead of a message hidden by reports, until an operator decides. */
export const HIDDEN_MESSAGE_BODY = 'This message is hidden after reports from several users.';
/** What everyone reads instead of a message an operator removed. */
export const REMOVED_MESSAGE_BODY = 'This message was removed by a moderator.';

export interface ChatRoom {
  id: number;
  type: RoomType;
  members: PublicUser[];
  memberCount: number;
  reservationId?: number;
  meetupId?: number;
  postId?: number;
  listingId?: number;
  groupId?: number;
  lastMessage: ChatMessage | null;
  unreadCount: number;
  lastActivityAt: string;
}

export interface ReadReceipt {
  roomId: number;
  userId: number;
  messageId: number;
}

/**
 * The realtime side (Socket.io, chat.socket.ts); every call but `register` is after commit. New
 * messages travel through ChatRelay (chat.relay.ts), which calls `emitLocal` on every instance.
 */
export interface ChatRealtime {
  emitLocal(items: RelayItem[]): void;
  readMoved(receipt: ReadReceipt, originSocketId?: string): void;
  memberRemoved(roomId: number, userId: number): void;
  emitToUsers<E extends keyof ServerToClientEvents>(userIds: number[], event: E, payload: ServerPayload<E>): void;
  register(registrar: SocketRegistrar): void;
}

/** A per-socket limit: seconds to wait, or 0 when a point was taken. */
export interface SocketLimiter {
  take(): number;
}

/** Given to socket handler registrars: the same validated, acknowledged handling chat uses. */
export interface SocketTools {
  handle<E extends keyof ClientToServerEvents>(
    socket: AppSocket,
    event: E,
    schema: Joi.ObjectSchema<ClientPayload<E>>,
    fn: (payload: ClientPayload<E>) => Promise<Record<string, unknown> | void>,
    limiter?: SocketLimiter,
  ): void;
  /** The chat rooms the socket has joined. */
  joinedRooms(socket: AppSocket): number[];
}

export type SocketRegistrar = (socket: AppSocket, user: AuthUser, tools: SocketTools) => void;

/** One notification for a member who was not in the room when a message came. */
export interface ChatNotifyInput {
  recipientId: number;
  type: 'chat.message';
  title: string;
  body: string;
  data: Record<string, unknown>;
  /** `chat:<messageId>`: an outbox row that runs twice (after a crash) still notifies once. */
  dedupeKey?: string;
}
/** The part of the notifications service chat uses. */
export interface ChatNotifier {
  /** All recipients in one transaction, so an outbox retry never notifies anyone twice. */
  notifyMany(inputs: ChatNotifyInput[]): Promise<unknown>;
}

/** The safety module's block check (`services.safety.blocks`). */
export interface ChatBlocks {
  between(a: number, b: number, t?: Transaction): Promise<boolean>;
  /** A SQL condition true when the users in these two columns have a block either way (a batch's checks). */
  blockedBetweenSql(a: string, b: string): string;
}

export interface CreateRoomInput {
  type: RoomType;
  memberIds: number[];
  reservationId?: number;
  meetupId?: number;
  postId?: number;
  groupId?: number;
  /** A `listing` room: the listing and its buyer (one room per pair; the seller is the other member). */
  listing?: { listingId: number; buyerId: number };
}

export interface ChatServiceDeps {
  sequelize: Sequelize;
  repo: ChatRepository;
  users: UsersService;
  presence: Presence;
  outbox: Outbox;
  clock: Clock;
  logger: Logger;
  /** Per-user send limit across instances and transports (REST and socket). */
  sendLimiter: LeasedLimiter;
  /** Socket.io: live messages, receipts and other modules' socket events. */
  realtime: ChatRealtime;
  /** Offline members hear of a message through notifications. */
  notifier: ChatNotifier;
  /** Users on either side of a block cannot open or use a direct room together (403). */
  blocks: ChatBlocks;
  /** The certain broadcast of committed messages. */
  relay: ChatRelay;
  /** The group commit's transactions, a packet of statements per round trip (chat.send.ts). */
  scripts: ScriptedTransactions;
  /** Group commit of sends (defaults: GROUP_COMMIT). */
  groupCommit?: GroupCommitOptions;
  /** Told how long each step of a committed batch took (metrics). */
  observePhase?: (phase: BatchPhase, seconds: number) => void;
  /** Set: sends are committed by their room's owning instance (chat.owners.ts); else here. */
  owners?: { submit(send: BatchedSend): Promise<SendResult> };
  onMessageCreated?: (via: 'rest' | 'socket') => void;
}

/**
 * Group commit defaults (the config's CHAT_BATCH_*): an idle instance's first send waits 2 ms for
 * company; with 4 batches committing, what arrives becomes the next batch, up to 200 sends (a bounded
 * statement and lock set). See README "Chat".
 */
export const GROUP_COMMIT: GroupCommitOptions = { windowMs: 2, maxBatch: 200, maxInFlight: 4 };

/**
 * A message as `viewerId` reads it. A message hidden by reports keeps its place in history (ids are
 * the contract's cursor) but its text is a placeholder for everyone except its sender; a removed
 * one is a placeholder for everyone.
 */
const toMessage = (m: MessageRow, viewerId: number): ChatMessage => {
  const hidden = m.removedAt !== null || (m.hiddenAt !== null && viewerId !== m.senderId);
  return {
    id: m.id,
    roomId: m.roomId,
    senderId: m.senderId,
    body: m.removedAt !== null ? REMOVED_MESSAGE_BODY : hidden ? HIDDEN_MESSAGE_BODY : m.body,
    clientId: m.clientId,
    createdAt: new Date(m.createdAt).toISOString(),
    hidden,
  };
};

/** A viewer id no sender has (ids start at 1): the message as every other member reads it. */
const NOT_THE_SENDER = 0;

/** Rooms page over (lastActivityAt, id), newest activity first. */
const roomCursor = Joi.object({ at: cursorDate, id: cursorId });

export class ChatService {
  private readonly batcher: GroupCommit<SendResult>;

  constructor(private readonly deps: ChatServiceDeps) {
    const writer = new BatchWriter({
      ...deps,
      statements: new ChatBatchStatements((a, b) => deps.blocks.blockedBetweenSql(a, b)),
      present: (row) => toMessage(row, row.senderId),
    });
    this.batcher = new GroupCommit((sends) => writer.commit(sends), deps.groupCommit ?? GROUP_COMMIT, deps.logger);
  }

  /**
   * Messages by id as the other members read them (the relay's outbox path, which may run after the
   * message was hidden by reports or removed: it then carries the placeholder, never the text).
   */
  async messagesForBroadcast(ids: number[]): Promise<ChatMessage[]> {
    return [...(await this.deps.repo.findMessages(ids)).values()].map((m) => toMessage(m, NOT_THE_SENDER));
  }

  /**
   * Lets a later module add Socket.io event handlers (meetups: `location:update`). Called for every
   * authenticated socket on connection; `tools.handle` gives validated, acknowledged handlers.
   */
  registerSocketHandler(register: SocketRegistrar): void {
    this.deps.realtime.register(register);
  }

  /** Emits to every socket of these users, on every instance (e.g. `location:nearby`). */
  emitToUsers<E extends keyof ServerToClientEvents>(userIds: number[], event: E, payload: ServerPayload<E>): void {
    this.deps.realtime.emitToUsers(userIds, event, payload);
  }

  presentUsers(roomId: number): Promise<Set<number>> {
    return this.deps.presence.presentUsers(roomId);
  }

  isPresent(roomId: number, userId: number): Promise<boolean> {
    return this.deps.presence.isPresent(roomId, userId);
  }

  // --- seams for other modules (inside their transactions) ------------------------------------

  /**
   * Creates a room with its members in the caller's transaction, or finds the one that already owns
   * the pair / reservation / meetup / post (UNIQUE keys decide under concurrency). Members are added
   * either way.
   */
  async createRoomInTx(t: Transaction, input: CreateRoomInput): Promise<{ roomId: number; created: boolean }> {
    const memberIds = [...new Set(input.memberIds)];
    const key: NewRoom = { type: input.type };
    if (input.type === 'direct') {
      if (memberIds.length !== 2) throw new Error('a direct room has exactly two distinct members');
      key.userLowId = Math.min(...memberIds);
      key.userHighId = Math.max(...memberIds);
    } else if (input.type === 'listing') {
      if (!input.listing) throw new Error('a listing room needs its listing and buyer');
      key.listingId = input.listing.listingId;
      key.listingBuyerId = input.listing.buyerId;
    } else {
      const column = `${input.type}Id` as const;
      const value = input[column];
      if (!Number.isInteger(value)) throw new Error(`a ${input.type} room needs ${column}`);
      key[column] = value;
    }
    const now = this.deps.clock.now();
    let roomId: number;
    let created = true;
    try {
      roomId = await this.deps.repo.insertRoom(key, now, t);
    } catch (err) {
      if (!(err instanceof UniqueConstraintError)) throw err;
      const existing = await this.deps.repo.lockRoomByKey(key, t);
      if (existing === null) throw err;
      roomId = existing;
      created = false;
    }
    for (const userId of memberIds) await this.deps.repo.upsertMember(roomId, userId, now, t);
    return { roomId, created };
  }

  /** Adds a member (meetup join, open post chat); false when the room does not exist. Idempotent. */
  async addMember(t: Transaction | undefined, roomId: number, userId: number): Promise<boolean> {
    const room = await this.deps.repo.findRoom(roomId, t);
    if (!room) return false;
    await this.deps.repo.upsertMember(roomId, userId, this.deps.clock.now(), t);
    return true;
  }

  /** Which of these (room, user) pairs are still memberships (see membershipKey): the sockets' re-check. */
  membershipsAmong(pairs: Array<{ roomId: number; userId: number }>): Promise<Set<string>> {
    return this.deps.repo.membershipsAmong(pairs);
  }

  /**
   * Removes a member in the caller's transaction. Returns a hook to call after commit: it takes that
   * user's sockets out of the room on every instance and clears their presence.
   */
  async removeMember(t: Transaction, roomId: number, userId: number): Promise<() => void> {
    const removed = await this.deps.repo.deleteMember(roomId, userId, t);
    return () => {
      if (removed) this.deps.realtime.memberRemoved(roomId, userId);
    };
  }

  /** Closes a room to new messages in the caller's transaction (its post was deleted); history stays. */
  async closeRoomInTx(t: Transaction, roomId: number): Promise<void> {
    await this.deps.repo.closeRoom(roomId, this.deps.clock.now(), t);
  }

  memberCount(roomId: number, t?: Transaction): Promise<number> {
    return this.deps.repo.countMembers(roomId, t);
  }

  async isMember(roomId: number, userId: number, t?: Transaction): Promise<boolean> {
    return (await this.deps.repo.findMembership(roomId, userId, t)) !== null;
  }

  // --- access ---------------------------------------------------------------------------------

  /**
   * The room if the user is a member; everything else is 404, so ids cannot be probed. Open `post`
   * rooms are entered through their post (POST /posts/{id}/chat/members), never here. `enroll` is
   * kept for callers' sake and adds no one.
   */
  async accessRoom(userId: number, roomId: number, _enroll: boolean): Promise<RoomRow> {
    const room = await this.deps.repo.findRoom(roomId);
    if (!room) throw NotFound('Chat room');
    if (await this.deps.repo.findMembership(roomId, userId)) return room;
    throw NotFound('Chat room');
  }

  // --- REST and socket operations -------------------------------------------------------------

  /**
   * Keyset pages over (lastActivityAt, id). A room that gets a message while a client pages moves
   * to the top, so it may show up again on the first page; clients refresh from the top on
   * `message:new` anyway.
   */
  async listRooms(
    userId: number,
    page: { limit: number; cursor?: string },
  ): Promise<{ items: ChatRoom[]; nextCursor: string | null }> {
    const after = page.cursor ? decodeCursor<{ at: Date; id: number }>(page.cursor, roomCursor) : null;
    const rows = await this.deps.repo.listMemberRooms(userId, page.limit + 1, after);
    const { items, nextCursor } = paginate(rows, page.limit, (last) => ({
      at: new Date(last.lastActivityAt).toISOString(),
      id: last.id,
    }));
    return { items: await this.present(userId, items), nextCursor };
  }

  async getRoom(userId: number, roomId: number): Promise<ChatRoom> {
    const room = await this.accessRoom(userId, roomId, false);
    const membership = await this.deps.repo.findMembership(roomId, userId);
    const [item] = await this.present(userId, [{ ...room, lastReadMessageId: membership?.lastReadMessageId ?? null }]);
    return item;
  }

  /** Get-or-create the direct room of a pair: 201 when this call created it, 200 when it existed. */
  async openDirect(userId: number, otherId: number): Promise<{ room: ChatRoom; created: boolean }> {
    if (otherId === userId) {
      throw ValidationFailed('A direct room needs another user', [
        { path: 'body.userId', message: 'cannot be yourself' },
      ]);
    }
    const other = await this.deps.users.findById(otherId);
    if (!other) throw NotFound('User');
    if (await this.deps.blocks.between(userId, otherId)) throw Forbidden('You cannot chat with this user');
    const pair = [Math.min(userId, otherId), Math.max(userId, otherId)] as const;
    const existing = await this.deps.repo.findDirectRoomId(...pair);
    if (existing !== null) return { room: await this.getRoom(userId, existing), created: false };
    try {
      const { roomId, created } = await inTransaction(this.deps.sequelize, (t) =>
        this.createRoomInTx(t, { type: 'direct', memberIds: [userId, otherId] }),
      );
      return { room: await this.getRoom(userId, roomId), created };
    } catch (err) {
      // Many opens of one pair at once: the losers wait on the winner's key and may deadlock each
      // other through every retry. The winner's room (with both members) is what they all wanted.
      const won = isDeadlock(err) ? await this.deps.repo.findDirectRoomId(...pair) : null;
      if (won === null) throw err;
      return { room: await this.getRoom(userId, won), created: false };
    }
  }

  async history(
    userId: number,
    roomId: number,
    page: { before?: number; after?: number; limit: number },
  ): Promise<{ items: ChatMessage[]; nextCursor: string | null }> {
    await this.accessRoom(userId, roomId, false);
    const rows = await this.deps.repo.history(roomId, page, page.limit + 1);
    // The contract makes this cursor the message id, passed back as the same before/after parameter.
    const { items, nextCursor } = paginate(rows, page.limit, (last) => last.id, String);
    return { items: items.map((m) => toMessage(m, userId)), nextCursor };
  }

  /**
   * Persists a message, then (after commit) acks and broadcasts it. Sends are group-committed (see
   * GroupCommit and BatchWriter): one transaction per batch, each room locked once per batch, so ids
   * within a room follow commit order and `after=<id>` catch-up never skips a late commit. A repeated
   * clientId returns the stored message with `created: false` and broadcasts nothing.
   */
  async send(
    userId: number,
    roomId: number,
    input: { body: string; clientId: string },
    origin: { via: 'rest' | 'socket'; socketId?: string },
  ): Promise<{ message: ChatMessage; created: boolean }> {
    await this.deps.sendLimiter.consume(userId);
    const send: BatchedSend = {
      userId,
      roomId,
      body: input.body,
      clientId: input.clientId,
      ...(origin.socketId ? { socketId: origin.socketId } : {}),
    };
    const { row, created } = await (this.deps.owners ? this.deps.owners.submit(send) : this.commitHere(send));
    if (created) this.deps.onMessageCreated?.(origin.via);
    return { message: toMessage(row, userId), created };
  }

  /** Commits a send in this instance's group commit (its own, or one forwarded by another instance). */
  commitHere(send: BatchedSend): Promise<SendResult> {
    return this.batcher.submit(send);
  }

  /** Answers every send already queued (shutdown, before the database closes). */
  drainSends(): Promise<void> {
    return this.batcher.drain();
  }

  /** Moves my read pointer forward (never back) and broadcasts a receipt when it moved. */
  async markRead(
    userId: number,
    roomId: number,
    messageId: number,
    field: string,
    originSocketId?: string,
  ): Promise<void> {
    await this.accessRoom(userId, roomId, true);
    const message = await this.deps.repo.findMessage(messageId);
    if (!message || message.roomId !== roomId) {
      throw ValidationFailed('The message is not in this room', [
        { path: field, message: 'not a message of this room' },
      ]);
    }
    const moved = await this.deps.repo.advanceReadPointer(roomId, userId, messageId, this.deps.clock.now());
    if (moved) this.deps.realtime.readMoved({ roomId, userId, messageId }, originSocketId);
  }

  /**
   * Outbox handler: notifies each member who is neither the sender nor joined to the room on any
   * socket right now (presence is read when the row runs, a few ms after the commit). A failure
   * leaves the row for a retry; with notifyMany the recipients are written all-or-nothing.
   */
  async notifyMembers(payload: ChatNotifyPayload): Promise<void> {
    const ids = 'messageIds' in payload ? payload.messageIds : [payload.messageId];
    const found = await this.deps.repo.findMessages(ids);
    // A message reported out of sight before this row ran is not quoted in anyone's notifications.
    const messages = [...found.values()].filter((m) => !m.hiddenAt && !m.removedAt).sort((x, y) => x.id - y.id);
    if (!messages.length) return;
    const roomIds = [...new Set(messages.map((m) => m.roomId))];
    // One more than the cap: the sender is among them.
    const [members, present] = await Promise.all([
      this.deps.repo.membersOf(roomIds, NOTIFY_MAX_RECIPIENTS + 1),
      Promise.all(roomIds.map((id) => this.deps.presence.presentUsers(id))),
    ]);
    const presentIn = new Map(roomIds.map((id, i) => [id, present[i]]));
    const absentOf = (m: MessageRow) =>
      (members.get(m.roomId)?.userIds ?? [])
        .filter((id) => id !== m.senderId && !presentIn.get(m.roomId)!.has(id))
        .slice(0, NOTIFY_MAX_RECIPIENTS);
    const due = messages.map((m) => ({ m, absent: absentOf(m) })).filter((x) => x.absent.length);
    if (!due.length) return;
    const senders = await this.deps.users.publicUsers([...new Set(due.map((x) => x.m.senderId))]);
    // A message's recipients all or none; a retried row skips what it did already (the dedupe key).
    for (const { m, absent } of due) {
      const body = m.body.length > NOTIFY_BODY_MAX ? `${m.body.slice(0, NOTIFY_BODY_MAX - 1)}…` : m.body;
      await this.deps.notifier.notifyMany(
        absent.map((recipientId) => ({
          recipientId,
          type: 'chat.message',
          title: senders.get(m.senderId)?.nickname ?? 'New message',
          body,
          data: { roomId: m.roomId, messageId: m.id, senderId: m.senderId },
          dedupeKey: `chat:${m.id}`,
        })),
      );
    }
  }

  // --- reports (the safety module's `message` target) -------------------------------------------

  /** The sender of a message `viewerId` may read (a member of its room), or null: 404 for a report. */
  async reportableMessage(messageId: number, viewerId: number): Promise<{ ownerId: number } | null> {
    const m = await this.deps.repo.findMessage(messageId);
    if (!m || m.removedAt || !(await this.deps.repo.findMembership(m.roomId, viewerId))) return null;
    return { ownerId: m.senderId };
  }

  async setMessageHiddenInTx(messageId: number, hidden: boolean, t: Transaction): Promise<void> {
    await this.deps.repo.setMessageHidden(messageId, hidden, this.deps.clock.now(), t);
  }

  async removeMessageInTx(messageId: number, t: Transaction): Promise<void> {
    await this.deps.repo.removeMessage(messageId, this.deps.clock.now(), t);
  }

  // --- internals ------------------------------------------------------------------------------

  /** Room JSON for a page of rooms in a fixed number of queries (members, users, last messages, unread). */
  private async present(userId: number, rows: MemberRoomRow[]): Promise<ChatRoom[]> {
    if (!rows.length) return [];
    const roomIds = rows.map((r) => r.id);
    const lastIds = rows.map((r) => r.lastMessageId).filter((id): id is number => id !== null);
    const [members, lastMessages, unread] = await Promise.all([
      this.deps.repo.membersOf(roomIds, MEMBERS_SHOWN),
      this.deps.repo.findMessages(lastIds),
      this.deps.repo.unreadCounts(userId, roomIds),
    ]);
    const users = await this.deps.users.publicUsers([...members.values()].flatMap((m) => m.userIds));
    return rows.map((r) => {
      const m = members.get(r.id) ?? { userIds: [], total: 0 };
      const last = r.lastMessageId !== null ? lastMessages.get(r.lastMessageId) : undefined;
      return {
        id: r.id,
        type: r.type,
        // Deleted accounts drop out of the list; their messages stay.
        members: m.userIds.map((id) => users.get(id)).filter((u): u is PublicUser => u !== undefined),
        memberCount: m.total,
        ...(r.reservationId !== null ? { reservationId: r.reservationId } : {}),
        ...(r.meetupId !== null ? { meetupId: r.meetupId } : {}),
        ...(r.postId !== null ? { postId: r.postId } : {}),
        ...(r.listingId !== null ? { listingId: r.listingId } : {}),
        ...(r.groupId !== null ? { groupId: r.groupId } : {}),
        lastMessage: last ? toMessage(last, userId) : null,
        unreadCount: unread.get(r.id) ?? 0,
        lastActivityAt: new Date(r.lastActivityAt).toISOString(),
      };
    });
  }
}
