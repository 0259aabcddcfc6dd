/**
 * The instant a wall-clock time on a calendar day has in a time zone: `zonedInstant('2027-03-02',
 * 9, 0, 'Asia/Seoul')` is 2027-03-02T00:00:00Z. Found by taking the zone's offset at a first guess
 * and correcting once with the offset at the result, which settles daylight-saving changes (a time
 * skipped by a spring-forward resolves to the instant after the gap).
 */
export function zonedInstant(day: string, hour: number, minute: number, timeZone: string): Date {
  const [y, m, d] = day.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d, hour, minute);
  let at = wall - offsetMs(new Date(wall), timeZone);
  at = wall - offsetMs(new Date(at), timeZone);
  return new Date(at);
}

/**
 * `at` on a 24-hour wall clock in `timeZone`: Intl's parts (year, month, day, hour, minute, and what
 * `extra` asks for) by their type.
 */
export function wallClockParts(at: Date, timeZone: string, extra: Intl.DateTimeFormatOptions): Record<string, string> {
  return Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...extra,
    })
      .formatToParts(at)
      .map((x) => [x.type, x.value]),
  );
}

/** The zone's offset from UTC at `at`, in milliseconds (Seoul: +9 h). */
function offsetMs(at: Date, timeZone: string): number {
  const p = wallClockParts(at, timeZone, { second: '2-digit' });
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return asUtc - Math.floor(at.getTime() / 1000) * 1000;
}
