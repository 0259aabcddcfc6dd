import { readEnvFileInDevelopment } from '../src/env-file';
/**
 * Job queue inspection:  npm run jobs:failed [-- --retry]
 * Lists mail jobs that exhausted their retries (they are kept, never dropped); --retry re-queues them.
 */
import { Queue, type ConnectionOptions } from 'bullmq';
import { bullPrefix, MAIL_QUEUE } from '../src/infra/jobs';
import { openRedis, redisUrlFromEnv } from '../src/infra/redis';

async function main() {
  if (process.argv.includes('--help')) {
    process.stdout.write(
      'Usage: npm run jobs:failed [-- --retry]\nEnvironment: REDIS_URL or REDIS_CLUSTER_NODES, REDIS_PREFIX (default pm:)\n',
    );
    return;
  }
  readEnvFileInDevelopment();
  const url = redisUrlFromEnv(process.env) ?? 'redis://127.0.0.1:6379/0';
  const prefix = process.env.REDIS_PREFIX ?? 'pm:';
  const connection = openRedis(url, { maxRetriesPerRequest: 1 });
  const queue = new Queue(MAIL_QUEUE, {
    connection: connection as unknown as ConnectionOptions,
    prefix: bullPrefix(connection, prefix),
  });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    process.stdout.write(`queue ${MAIL_QUEUE}: ${JSON.stringify(counts)}\n`);
    const failed = await queue.getFailed(0, 199);
    for (const job of failed) {
      const to = (job.data as { to?: string }).to ?? '?';
      process.stdout.write(
        `  #${job.id} to=${to} attempts=${job.attemptsMade} failed=${new Date(job.finishedOn ?? 0).toISOString()} reason=${job.failedReason}\n`,
      );
      if (process.argv.includes('--retry')) await job.retry();
    }
    if (process.argv.includes('--retry')) process.stdout.write(`re-queued ${failed.length} job(s)\n`);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

main().catch((err) => {
  process.stderr.write(`jobs: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
