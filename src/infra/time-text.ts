/**
 * An instant as people read it in notification and mail text: the service's time zone, minutes, and
 * the zone's offset so nobody has to guess ("2027-03-03 09:00 UTC+9"). API fields stay ISO UTC.
 */
export function localTime(instant: Date | string, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  const offset = String(parts.timeZoneName)
    .replace(/^GMT(\+0)?$/, 'UTC')
    .replace(/^GMT/, 'UTC');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${offset}`;
}
