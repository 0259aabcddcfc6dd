import type { Logger } from './logger';
import type { Redis } from './redis';
import { waitAtMost } from './wait-at-most';
import { RebuildRunning, type GeoIndex } from './geo';

export interface HealableIndex {
  /** For logs: "sitters", "meetups". */
  name: string;
  geo: GeoIndex;
  /** Rows MySQL says belong in the index. */
  expected(): Promise<number>;
  /**
   * When given, what says the index is missing (and then it is rebuilt even with no rows, e.g. to set
   * a marker that says it is complete); otherwise it is missing when empty while MySQL has rows.
   */
  missing?(): Promise<boolean>;
  rebuild(): Promise<{ count: number }>;
}

/**
 * Rebuilds a geo index that is missing (empty in Redis while MySQL has rows for it): a Redis that
 * was wiped or restarted without persistence. Another instance already rebuilding is fine.
 */
export async function healGeoIndex(index: HealableIndex, logger: Logger): Promise<boolean> {
  if (index.missing ? !(await index.missing()) : (await index.geo.size()) > 0 || (await index.expected()) === 0)
    return false;
  try {
    const { count } = await index.rebuild();
    logger.warn(
      { count, index: index.name },
      `the ${index.name} geo index was missing and has been rebuilt from MySQL`,
    );
    return true;
  } catch (err) {
    if (err instanceof RebuildRunning) return false;
    throw err;
  }
}

/**
 * How long `stop` waits for a heal in flight (ms). A heal is only Redis and MySQL reads and a rebuild
 * that another start or the sweep redoes, so shutdown abandons it rather than wait on a Redis that
 * stopped answering (commands have no timeout: an open but silent connection would hold it forever).
 */
export const HEAL_STOP_WAIT_MS = 5000;

/**
 * Heals at start and whenever the Redis connection becomes ready again (it may have come back
 * empty), in the background: a start must not wait for, or fail on, a rebuild.
 */
export function healInBackground(redis: Redis, index: HealableIndex, logger: Logger, stopWaitMs = HEAL_STOP_WAIT_MS) {
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
    /** Waits for a heal in flight, at most `stopWaitMs`; then gives up on it (logged) and returns. */
    async stop() {
      redis.off('ready', heal);
      if ((await waitAtMost(healing, stopWaitMs)) === 'late')
        logger.warn(
          { index: index.name, waitedMs: stopWaitMs },
          `stopping without waiting for the ${index.name} geo index check: Redis or MySQL did not answer`,
        );
    },
  };
}
