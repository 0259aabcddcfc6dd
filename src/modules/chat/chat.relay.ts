import { luaScript, type Redis } from '../../infra/redis';
import type { EventBus } from '../../infra/realtime/bus';
import type { Logger } from '../../infra/logger';
import { SeenKeys } from '../../infra/realtime/seen-keys';
import type { Statement } from '../../infra/sql-script';
import { FIRST_ID_VARIABLE } from './chat.batch-statements';
import type { ChatMessage } from './chat.service';

/** Bus channel carrying each committed batch's messages to every instance. */
export const CHAT_MESSAGES_CHANNEL = 'chat-messages';
/**
 * Outbox topic: a batch's after-commit work, due a little after its commit: its broadcast in case the
 * fast path never ran, then the notifications of members who were not in the room.
 */
export const TOPIC_CHAT_RELAY = 'chat.messages.relay';

/** A message to emit in its room, except to the socket that sent it (its ack carries it). */
export interface RelayItem {
  message: ChatMessage;
  except?: string;
}

export interface RelayBatch {
  /** The batch's relay key: a receiver emits a batch once even if it is published twice. */
  key: string;
  items: RelayItem[];
}

/** The outbox row of a batch: its relay key and messages (ids only: the bodies are read when it runs). */
export interface RelayRow {
  key: string;
  messages: Array<{ id: number; except?: string }>;
}

/** A message id in a relay row written by the same packet as the messages: known, or the insert's first id plus an offset. */
export type RelayRowId = number | { firstIdPlus: number };

/**
 * A batch's outbox row payload (RelayRow's JSON) as an SQL expression, for the packet that also inserts
 * the messages: ids not yet known are read from the insert's first id (FIRST_ID_VARIABLE) by the
 * server. The JSON text around them is built here and passed as values.
 */
export function relayRowPayloadSql(key: string, messages: Array<{ id: RelayRowId; except?: string }>): Statement {
  const texts: string[] = [];
  const ids: string[] = [];
  let text = `{"key":${JSON.stringify(key)},"messages":[`;
  messages.forEach((m, i) => {
    texts.push(`${text}${i ? ',' : ''}{"id":`);
    ids.push(idSql(m.id));
    text = m.except ? `,"except":${JSON.stringify(m.except)}}` : '}';
  });
  texts.push(`${text}]}`);
  const parts = texts.flatMap((_, i) => (i < ids.length ? ['?', ids[i]] : ['?']));
  return { sql: `CONCAT(${parts.join(', ')})`, values: texts };
}

function idSql(id: RelayRowId): string {
  const n = typeof id === 'number' ? id : id.firstIdPlus;
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`not an id or offset: ${n}`);
  return typeof id === 'number' ? String(n) : `${FIRST_ID_VARIABLE} + ${n}`;
}

declare module '../../infra/realtime/bus' {
  interface BusChannels {
    [CHAT_MESSAGES_CHANNEL]: RelayBatch;
  }
}
declare module '../../infra/outbox' {
  interface OutboxTopics {
    [TOPIC_CHAT_RELAY]: RelayRow;
  }
}

/**
 * How long after its commit a batch's outbox row becomes due. The committing instance publishes right
 * after the commit (the fast path); the row only matters when it did not (it died, or its publish
 * failed), so it waits long enough for the fast path to have won in the normal case.
 */
export const RELAY_GRACE_MS = 1000;
/** How long a batch's "published" mark lives: longer than an outbox row can stay pending. */
const RELAYED_TTL_MS = 60 * 60 * 1000;
/**
 * How long, and how many, batch keys each instance remembers having emitted. A second publish of a
 * batch comes from the outbox row (due RELAY_GRACE_MS after the commit) or from a retried script,
 * seconds after the first; ten minutes also covers an outbox held back by a short outage. At 1000
 * batches a second the cap is reached first and holds about two minutes (some MB of keys).
 */
const EMITTED_TTL_MS = 10 * 60 * 1000;
const EMITTED_CAP = 100_000;

/**
 * Publishes a batch once: the mark and the PUBLISH happen in one script, so whichever of the fast path
 * and the outbox row comes first publishes, and the other does nothing. (Across a Redis failover the
 * mark can be lost; receivers drop a repeated batch key, see ChatRelay.start.)
 */
const PUBLISH_ONCE = `if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0`;

export interface ChatRelayDeps {
  redis: Redis;
  bus: EventBus;
  prefix: string;
  logger: Logger;
  /** Messages by id as their sender reads them (a fresh message is nobody's placeholder yet). */
  load(ids: number[]): Promise<ChatMessage[]>;
  /** Emits to this instance's sockets in each message's room. */
  emitLocal(items: RelayItem[]): void;
  /** Notifies the absent members of these messages (idempotent: a retried row notifies no one twice). */
  notify(ids: number[]): Promise<void>;
}

/**
 * The certain broadcast of committed messages. Each batch's transaction also writes a delayed outbox
 * row (`TOPIC_CHAT_RELAY`); after the commit the instance publishes the batch on the bus at once. If
 * the instance dies between its commit and that publish, or the publish fails, the row becomes due
 * and any instance's outbox dispatcher publishes it: members on every instance get the message
 * without reconnecting, about a second late. Every instance subscribes and emits to its own sockets.
 */
export class ChatRelay {
  private unsubscribe: (() => void) | null = null;
  private readonly emitted = new SeenKeys(EMITTED_TTL_MS, EMITTED_CAP);
  /** Run by SHA (EVALSHA): every batch would otherwise send the script's text and have Redis hash it. */
  private readonly publishScript: ReturnType<typeof luaScript>;

  constructor(private readonly deps: ChatRelayDeps) {
    this.publishScript = luaScript(deps.redis, 'chatPublishOnce', 1, PUBLISH_ONCE);
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.bus.subscribe(CHAT_MESSAGES_CHANNEL, (batch) => {
      // The publish script marks a batch before publishing it, but on a Redis Cluster failover the
      // mark can be lost with its master (or the script retried on the promoted replica), so the
      // outbox row may publish a batch a second time: each instance emits a batch key once.
      if (this.emitted.firstTime(batch.key)) this.deps.emitLocal(batch.items);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /**
   * The fast path, right after a commit; a failure is left to the batch's outbox row. Never rejects;
   * resolves once the publish is done or has failed (timing only: nobody needs to wait for it).
   */
  publishAfterCommit(key: string, items: RelayItem[]): Promise<void> {
    return this.publishOnce(key, items).then(
      () => undefined,
      (err: Error) =>
        this.deps.logger.warn({ err: err.message, key }, 'chat broadcast failed; its outbox row will publish it'),
    );
  }

  /**
   * Outbox handler, given every due row at once: publishes each batch the fast path did not, then
   * notifies absent members. The reads are shared by all the rows (one load, one notify) instead of
   * repeated per batch.
   */
  async fromOutbox(rows: RelayRow[]): Promise<void> {
    await this.publishMissed(rows);
    await this.deps.notify(rows.flatMap((row) => row.messages.map((m) => m.id)));
  }

  private async publishMissed(rows: RelayRow[]): Promise<void> {
    const published = await Promise.all(rows.map((row) => this.deps.redis.exists(this.markKey(row.key))));
    const missed = rows.filter((_, i) => !published[i]);
    if (!missed.length) return;
    const ids = missed.flatMap((row) => row.messages.map((m) => m.id));
    const messages = new Map((await this.deps.load(ids)).map((m) => [m.id, m]));
    for (const row of missed) {
      const items = row.messages.flatMap(({ id, except }) => {
        const message = messages.get(id);
        return message ? [{ message, ...(except ? { except } : {}) }] : [];
      });
      if (await this.publishOnce(row.key, items)) {
        this.deps.logger.info({ key: row.key, messages: items.length }, 'chat batch broadcast by its outbox row');
      }
    }
  }

  /** True when this call published the batch. */
  private async publishOnce(key: string, items: RelayItem[]): Promise<boolean> {
    const payload: RelayBatch = { key, items };
    const published = await this.publishScript(
      this.markKey(key),
      this.deps.bus.channel(CHAT_MESSAGES_CHANNEL),
      JSON.stringify(payload),
      String(RELAYED_TTL_MS),
    );
    return published === 1;
  }

  private markKey(key: string): string {
    return `${this.deps.prefix}chat:relayed:${key}`;
  }
}
