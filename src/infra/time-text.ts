import { wallClockParts } from './zoned-time';

/**
 * An instant as people read it in notification and mail text: the service's time zone, minutes, and
 * the zone's offset so nobody has to guess ("2027-03-03 09:00 UTC+9"). API fields stay ISO UTC.
 */
export function localTime(instant: Date | string, timeZone: string): string {
  const parts = wallClockParts(new Date(instant), timeZone, { timeZoneName: 'shortOffset' });
  const offset = String(parts.timeZoneName)
    .replace(/^GMT(\+0)?$/, 'UTC')
    .replace(/^GMT/, 'UTC');
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${offset}`;
}
