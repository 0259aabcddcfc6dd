import type { Logger } from './logger';
import type { Redis } from './redis';
import type { GeoIndex } from './geo';

export interface HealableIndex {
  /** For logs: "sitters", "meetups". */
  name: string;
  geo: GeoIndex;
  /** Rows MySQL says belong in the index. */
  expected(): Promise<number>;
  rebuild(): Promise<{ count: number }>;
}

/**
 * Rebuilds a geo index that is missing (empty in Redis while MySQL has rows for it): a Redis that
 * was wiped or restarted without persistence. Another instance already rebuilding is fine.
 */
export async function healGeoIndex(index: HealableIndex, logger: Logger): Promise<boolean> {
  if ((await index.geo.size()) > 0 || (await index.expected()) === 0) return false;
  try {
    const { count } = await index.rebuild();
    logger.warn(
      { count, index: index.name },
      `the ${index.name} geo index was missing and has been rebuilt from MySQL`,
    );
    return true;
  } catch (err) {
    if (/already running/.test((err as Error).message)) return false;
    throw err;
  }
}

/**
 * Heals at start and whenever the Redis connection becomes ready again (it may have come back
 * empty), in the background: a start must not wait for, or fail on, a rebuild.
 */
export function healInBackground(redis: Redis, index: HealableIndex, logger: Logger) {
  let healing: Promise<unknown> = Promise.resolve();
  const heal = () => {
    healing = healGeoIndex(index, logger).catch((err) =>
      logger.error({ err: (err as Error).message, index: index.name }, `could not rebuild the ${index.name} geo index`),
    );
  };
  return {
    start() {
      heal();
      redis.on('ready', heal);
    },
    async stop() {
      redis.off('ready', heal);
      await healing;
    },
  };
}
