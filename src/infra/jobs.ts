import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from './logger';
import { openRedis, slotTag, type Redis } from './redis';
import type { Mailer, MailMessage } from './mail/mailer';

export const MAIL_QUEUE = 'mail';

/**
 * BullMQ's key prefix. A queue's keys are `<prefix>:<queue>:…` and its Lua scripts touch several of
 * them at once, so on a Redis Cluster the prefix is a hash tag (BullMQ's documented rule): every
 * queue of the deployment then lives in one slot, on one shard.
 */
export function bullPrefix(redis: Redis, prefix: string): string {
  return slotTag(redis, `${prefix}bull`);
}

/**
 * Turns a job's data into the mail to send, at send time; null means "nothing to send any more".
 * Jobs that already hold a MailMessage pass through; link mails are built here so that no stored
 * job holds a working link.
 */
export type MailRenderer = (data: unknown) => Promise<MailMessage | null>;
const asIs: MailRenderer = async (data) => data as MailMessage;

/**
 * The mail job queue (BullMQ on Redis). Jobs retry with exponential backoff; failed ones are kept
 * (removeOnFail: false) so they stay visible in `npm run jobs:failed` and the queue metrics, until the
 * retention sweep removes them (RETENTION_FAILED_MAIL_JOBS_DAYS).
 */
export class MailJobs {
  readonly queue: Queue;
  private worker: Worker | null = null;
  private readonly queueConnection: Redis;
  private workerConnection: Redis | null = null;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly render: MailRenderer = asIs,
  ) {
    // Producer: fail fast while Redis is down so the outbox keeps the row and retries later.
    this.queueConnection = openRedis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    });
    this.queueConnection.on('error', () => undefined);
    this.queue = new Queue(MAIL_QUEUE, {
      connection: this.queueConnection as unknown as ConnectionOptions,
      prefix: bullPrefix(this.queueConnection, prefix),
      defaultJobOptions: {
        attempts: 8,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: 1000,
        removeOnFail: false,
      },
    });
    this.queue.on('error', () => undefined);
  }

  /**
   * Enqueue; the job id makes a retried outbox row idempotent (BullMQ ignores a duplicate id).
   * `forgetWhenSent` drops the job once delivered instead of keeping it among the last completed.
   */
  async enqueue(data: unknown, jobId: string, { forgetWhenSent = false } = {}): Promise<void> {
    const to = (data as Partial<MailMessage>).to;
    if (to !== undefined && !to) return; // an account without an e-mail address: nothing to send
    await this.queue.add('send', data, { jobId, ...(forgetWhenSent ? { removeOnComplete: true } : {}) });
  }

  startWorker(): void {
    if (this.worker) return;
    this.workerConnection = openRedis(this.redisUrl, { maxRetriesPerRequest: null });
    this.workerConnection.on('error', () => undefined);
    this.worker = new Worker(
      MAIL_QUEUE,
      async (job) => {
        const message = await this.render(job.data);
        if (message) await this.mailer.send(message);
      },
      {
        connection: this.workerConnection as unknown as ConnectionOptions,
        prefix: bullPrefix(this.workerConnection, this.prefix),
        concurrency: 5,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: err.message }, 'mail job failed'),
    );
    this.worker.on('error', (err) => this.logger.warn({ err: err.message }, 'mail worker error'));
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  }

  /**
   * Bounded: with Redis down, BullMQ's graceful close would wait forever for a reply. Worse, a worker
   * whose close never finishes keeps its lock-renewal timer going, so the process (a test run, a
   * CLI) cannot end on its own: its blocking connection, reconnecting when we disconnect it, never
   * reports the end BullMQ waits for. So a worker whose Redis is not ready is closed with `force`
   * (no waiting for its current jobs: none of them could be marked done without Redis anyway; their
   * locks lapse and they run again as stalled jobs).
   */
  async close(): Promise<void> {
    const force = this.workerConnection?.status !== 'ready';
    const graceful = (async () => {
      await this.worker?.close(force);
      await this.queue.close();
    })();
    await Promise.race([graceful.catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    this.queueConnection.disconnect();
    this.workerConnection?.disconnect();
  }
}
