import { QueryTypes } from 'sequelize';
import { ManualClock, type Clock } from '../../src/infra/clock';
import type { TestInstance } from './context';

/** Later than any row's `availableAt` (MariaDB's DATETIME ends in 9999). */
const END_OF_TIME = new Date('9999-12-31T00:00:00.000Z');

/**
 * Drains the outbox until every row due by `clock` is carried out (the background pass may hold some
 * while we drain). Under a ManualClock a row that is due later never becomes due unless the test moves
 * the clock (a chat batch's relay row waits a second for the fast path; a retry waits its backoff), so
 * only rows already due are waited for; under the real clock every pending row is. A dead row fails
 * the wait: its side effect is lost, which no test expects unless it says so with `allowDead`.
 */
export async function settleOutbox(
  api: TestInstance,
  clock: Clock,
  { timeoutMs = 20_000, allowDead = false }: { timeoutMs?: number; allowDead?: boolean } = {},
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    await api.pawmate.outbox.drain();
    const dueBy = clock instanceof ManualClock ? clock.now() : END_OF_TIME;
    const [row] = await api.sequelize.query<{ pending: number | null; dead: number | null }>(
      `SELECT SUM(deadAt IS NULL AND availableAt <= ?) AS pending, SUM(deadAt IS NOT NULL) AS dead
         FROM outbox WHERE processedAt IS NULL`,
      { replacements: [dueBy], type: QueryTypes.SELECT },
    );
    if (!allowDead && Number(row.dead ?? 0) > 0) throw new Error(`outbox has ${row.dead} dead row(s)`);
    if (Number(row.pending ?? 0) === 0) return;
    if (Date.now() > until) throw new Error(`outbox did not settle: ${row.pending} row(s) pending`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
