/**
 * Waits for `work`, but at most `ms`: 'done' when it settled in time (fulfilled or rejected: a stop
 * step's failure is not the stop's), 'late' when the time ran out first. For stop steps that talk to
 * Redis or MySQL, which must not hold a shutdown forever when those stop answering.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<'done' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => 'done' as const,
        () => 'done' as const,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
