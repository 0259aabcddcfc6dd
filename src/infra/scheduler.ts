import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from './logger';
import { bullPrefix } from './jobs';
import { openRedis, type Redis } from './redis';

export const SWEEP_QUEUE = 'sweeps';
const SCHEDULER_ID = 'sweep-every-minute';

/**
 * Periodic sweeps through BullMQ's job scheduler (`upsertJobScheduler`; the old `repeat` option is
 * gone in BullMQ 6). Every instance upserts the same scheduler id, so there is one schedule however
 * many instances run, and one worker picks up each tick. The sweeps themselves read due-at columns in
 * MySQL, so a lost tick (or a Redis wipe) only delays work: the next tick finds it.
 */
export class SweepScheduler {
  private queue: Queue | null = null;
  private worker: Worker | null = null;
  private readonly connections: Redis[] = [];

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly everyMs: number,
    private readonly sweep: () => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const producer = openRedis(this.redisUrl, { maxRetriesPerRequest: 1 });
    const consumer = openRedis(this.redisUrl, { maxRetriesPerRequest: null });
    for (const c of [producer, consumer]) {
      c.on('error', () => undefined);
      this.connections.push(c);
    }
    this.queue = new Queue(SWEEP_QUEUE, {
      connection: producer as unknown as ConnectionOptions,
      prefix: bullPrefix(producer, this.prefix),
    });
    this.queue.on('error', () => undefined);
    try {
      await this.queue.upsertJobScheduler(
        SCHEDULER_ID,
        { every: this.everyMs },
        { name: 'sweep', opts: { removeOnComplete: 100, removeOnFail: 100 } },
      );
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message },
        'could not upsert the sweep scheduler; another instance or the next start will',
      );
    }
    this.worker = new Worker(SWEEP_QUEUE, () => this.sweep(), {
      connection: consumer as unknown as ConnectionOptions,
      prefix: bullPrefix(consumer, this.prefix),
      concurrency: 1,
    });
    this.worker.on('error', (err) => this.logger.warn({ err: err.message }, 'sweep worker error'));
    this.worker.on('failed', (_job, err) =>
      this.logger.warn({ err: err.message }, 'sweep failed; the next tick retries'),
    );
  }

  async stop(): Promise<void> {
    const graceful = (async () => {
      await this.worker?.close();
      await this.queue?.close();
    })();
    await Promise.race([graceful.catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    for (const c of this.connections.splice(0)) c.disconnect();
  }
}
