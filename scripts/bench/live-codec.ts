/**
 * How the live-location benchmark carries a send time through `location:nearby`, whose payload holds
 * only positions: in the latitude's low digits, as 0.1 ms units modulo 1000 s at 1e-11° each (at most
 * 1e-4° ≈ 11 m on top of a fixed offset from the meeting point). Doubles near any latitude resolve far
 * finer than 1e-11°, and JSON and the Redis hash keep the number exactly, so it decodes exactly.
 */
export const LAT_OFFSET = 0.0005;
const STEP = 1e-11;
const MOD = 10_000_000;

/** The latitude to send at epoch time `at` (ms) for a meetup at `meetingLat`. */
export function encodeLat(meetingLat: number, at: number): number {
  return meetingLat + LAT_OFFSET + (Math.round(at * 10) % MOD) * STEP;
}

/**
 * The send time hidden in `lat` (epoch ms, a multiple of 0.1 ms): the latest time with that code not
 * after `receivedAt`; null for a latitude this codec did not produce. Built from the code alone, so
 * the same position always decodes to the same time.
 */
export function decodeSentAt(meetingLat: number, lat: number, receivedAt: number): number | null {
  const code = Math.round((lat - meetingLat - LAT_OFFSET) / STEP);
  if (!(code >= 0 && code < MOD)) return null;
  const nowUnits = Math.round(receivedAt * 10);
  const ago = (((nowUnits - code) % MOD) + MOD) % MOD;
  return (nowUnits - ago) / 10;
}
