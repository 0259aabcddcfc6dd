import { Counter, Histogram } from 'prom-client';
import { LeasedLimiter } from '../../http/leased-limit';
import { ScriptedTransactions } from '../../infra/sql-script';
import type { FeatureModule, ModuleContext, Services } from '../module';
import { ChatRepository } from './chat.repository';
import { Presence } from './chat.presence';
import { ChatService, TOPIC_CHAT_NOTIFY } from './chat.service';
import { ChatSockets, chatSocketEvents } from './chat.socket';
import { ChatRelay, TOPIC_CHAT_RELAY } from './chat.relay';
import { RoomOwners } from './chat.owners';
import { chatRoutes } from './chat.router';

/** Messages per user per 10 s across every socket, tab and instance (each socket also has its own 20 / 10 s). */
const USER_SEND_LIMIT = 60;
/**
 * Sends an instance counts in Redis at a time for one user (LeasedLimiter): one Redis call per five
 * sends instead of one per send, on the send's critical path; a user on two instances at once may
 * be refused up to four sends early.
 */
const SEND_LEASE = 5;

/**
 * Chat (issue 6): REST under /chat, Socket.io on /socket.io, presence in Redis. Publishes
 * `services.chat` (ChatService) for reservations, meetups and posts, which create their rooms with
 * `createRoomInTx`, manage members and add socket events with `registerSocketHandler`.
 */
export function createChatModule(ctx: ModuleContext, services: Services): FeatureModule<'chat'> {
  const registers = [ctx.metrics.registry];
  const metrics = {
    messages: new Counter({
      name: 'pawmate_chat_messages_total',
      help: 'Chat messages stored (rate = messages/s)',
      labelNames: ['via'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'pawmate_chat_batch_size',
      help: 'Chat sends per group-commit transaction',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'pawmate_chat_batch_seconds',
      help: 'Time to commit one batch of chat sends (transaction and retries)',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    batchPhaseSeconds: new Histogram({
      name: 'pawmate_chat_batch_phase_seconds',
      help: 'Time a chat batch spent in each step (queue: per send, before its batch started; see BatchPhase)',
      labelNames: ['phase'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    forwarded: new Counter({
      name: 'pawmate_chat_sends_forwarded_total',
      help: "Chat sends forwarded to their room's owning instance (timeout: committed here after no answer)",
      labelNames: ['event'],
      registers,
    }),
    ackDuration: new Histogram({
      name: 'pawmate_socket_ack_duration_seconds',
      help: 'Time from a client event to its acknowledgement',
      labelNames: ['event'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
  const presence = new Presence(ctx.redis, ctx.config.redisPrefix);
  const sockets = new ChatSockets({
    presence,
    verify: ctx.verifyAccessToken,
    bus: ctx.bus,
    clock: ctx.clock,
    logger: ctx.logger,
    config: ctx.config,
    metrics,
    revokedAmong: (ids) => services.auth.revokedAmong(ids),
    membershipsAmong: (pairs) => chat.membershipsAmong(pairs),
  });
  const relay: ChatRelay = new ChatRelay({
    redis: ctx.redis,
    bus: ctx.bus,
    prefix: ctx.config.redisPrefix,
    logger: ctx.logger,
    load: (ids: number[]) => chat.messagesForBroadcast(ids),
    emitLocal: (items) => sockets.emitLocal(items),
    notify: (messageIds) => chat.notifyMembers({ messageIds }),
  });
  const owners = ctx.config.chatRoomOwners
    ? new RoomOwners({
        redis: ctx.redis,
        bus: ctx.bus,
        prefix: ctx.config.redisPrefix,
        logger: ctx.logger,
        commitHere: (send) => chat.commitHere(send),
        observe: (event) => metrics.forwarded.inc({ event }),
      })
    : null;
  // One connection per batch committing at once, and one for a batch retried meanwhile.
  const scripts = new ScriptedTransactions(ctx.config.databaseUrl, ctx.config.chatBatch.maxInFlight + 1);
  const chat: ChatService = new ChatService({
    sequelize: ctx.sequelize,
    scripts,
    repo: new ChatRepository(ctx.sequelize),
    users: services.users,
    presence,
    outbox: ctx.outbox,
    clock: ctx.clock,
    logger: ctx.logger,
    sendLimiter: new LeasedLimiter(ctx.redis, `${ctx.config.redisPrefix}rl:chat-send`, {
      points: USER_SEND_LIMIT,
      durationSec: 10,
      leaseSize: SEND_LEASE,
    }),
    realtime: sockets,
    relay,
    groupCommit: {
      ...ctx.config.chatBatch,
      observe: (size, seconds) => {
        metrics.batchSize.observe(size);
        metrics.batchSeconds.observe(seconds);
      },
      observeQueue: (seconds) => metrics.batchPhaseSeconds.observe({ phase: 'queue' }, seconds),
    },
    observePhase: (phase, seconds) => metrics.batchPhaseSeconds.observe({ phase }, seconds),
    ...(owners ? { owners } : {}),
    notifier: services.notifications,
    blocks: services.safety.blocks,
    onMessageCreated: (via) => metrics.messages.inc({ via }),
  });
  sockets.register(chatSocketEvents(chat, presence));
  // Members may report a message of a room they read; reports hide it from everyone but its sender.
  services.safety.registerTarget('message', {
    find: (id, viewerId) => chat.reportableMessage(id, viewerId),
    setHidden: (id, hidden, t) => chat.setMessageHiddenInTx(id, hidden, t),
    remove: (id, t) => chat.removeMessageInTx(id, t),
  });
  ctx.metrics.gauge('pawmate_open_sockets', 'Open Socket.io connections on this instance', () => sockets.openSockets);

  return {
    name: 'chat',
    service: chat,
    routes: chatRoutes(chat),
    outboxHandlers: {
      [TOPIC_CHAT_NOTIFY]: (payload) => chat.notifyMembers(payload),
      // Many rows a second under load: handled together, their reads shared.
      [TOPIC_CHAT_RELAY]: { grouped: true, handler: (rows) => relay.fromOutbox(rows) },
    },
    attach: (server) => sockets.attach(server),
    start: async () => {
      await relay.start();
      await owners?.start();
      await sockets.start();
    },
    stop: async () => {
      // No more sends from other instances; ours waiting on another owner are committed here. Then
      // sends already queued are answered before the sockets and the database go.
      await owners?.stop();
      await chat.drainSends();
      relay.stop();
      await sockets.stop();
      await scripts.close();
    },
  };
}
