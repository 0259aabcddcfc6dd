/**
 * The SSE benchmark's producer: a second Pawmate process (same code, same config as the measured
 * instance, no HTTP listener) that creates notifications the way every feature does, through
 * `services.notifications.notifyMany` (recipient lock, insert, outbox row, then the outbox publishes
 * to the bus after commit). Its own outbox dispatcher runs, as on the instance where a feature
 * would call the service; the measured instance only holds the streams.
 *   node dist/scripts/bench/sse-notify.js   (env: the Pawmate server's; IPC command `notify`)
 */
import { loadConfig } from '../../src/config';
import { openInfrastructure } from '../../src/bootstrap';
import { createApp } from '../../src/app';
import { createLogger } from '../../src/infra/logger';
import { serveIpc } from './ipc';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const infra = await openInfrastructure(config, logger);
  const pawmate = createApp({ ...infra, config });
  pawmate.outbox.start();
  const notifications = pawmate.services.notifications;

  serveIpc({
    /** One notification per user id, `chunk` recipients per transaction, `concurrency` transactions at a time. */
    async notify(req: { userIds: number[]; chunk: number; concurrency: number; tag: string }) {
      const startedAt = Date.now();
      const chunks: number[][] = [];
      for (let i = 0; i < req.userIds.length; i += req.chunk) chunks.push(req.userIds.slice(i, i + req.chunk));
      let next = 0;
      let created = 0;
      let firstCommittedAt: number | null = null;
      /** Each transaction's commit, in ms after startedAt: how the commits spread over time. */
      const commits: number[] = [];
      await Promise.all(
        Array.from({ length: Math.min(req.concurrency, chunks.length) }, async () => {
          while (next < chunks.length) {
            const ids = chunks[next++];
            // comment.new: in-app only by default, so no e-mail rows join the measurement.
            const out = await notifications.notifyMany(
              ids.map((recipientId) => ({ recipientId, type: 'comment.new', title: `Bench ${req.tag}` })),
            );
            firstCommittedAt ??= Date.now();
            commits.push(Date.now() - startedAt);
            created += out.filter(Boolean).length;
          }
        }),
      );
      return { created, startedAt, firstCommittedAt, committedAt: Date.now(), commits };
    },
    /** CPU time so far (µs): what writing and publishing cost this process (the protocol of gc-hook's `cpu`). */
    cpu() {
      const { user, system } = process.cpuUsage();
      return { cpuUs: user + system };
    },
    async stop() {
      await pawmate.outbox.stop();
      await infra.close();
      return true;
    },
  });
}

main().catch((err) => {
  process.stderr.write(`sse-notify: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
