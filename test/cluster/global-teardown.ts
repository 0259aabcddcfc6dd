import type { RedisClusterFixture } from './redis-cluster';

export default async function teardown(): Promise<void> {
  await (globalThis as { __redisCluster?: RedisClusterFixture }).__redisCluster?.stop();
}
