import { RedisClusterFixture } from './redis-cluster';

/**
 * Starts the private Redis Cluster of `npm run test:cluster` and points every test file at it
 * (TEST_REDIS_URL is read by TestContext; workers inherit this process's environment).
 */
export default async function setup(): Promise<void> {
  const cluster = await new RedisClusterFixture(3, 1).start();
  (globalThis as { __redisCluster?: RedisClusterFixture }).__redisCluster = cluster;
  process.env.TEST_REDIS_URL = cluster.url;
  process.env.TEST_REDIS_CLUSTER = '1';
}
