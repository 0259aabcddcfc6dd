/** Load profiles (issue 9). Every size is bounded; every run stops by itself. */
export interface Profile {
  name: string;
  /** autocannon connections over all HTTP scenarios ("virtual users"), split between the two instances. */
  vus: number;
  /** Requests per virtual user; ignored when `durationSec` is set. */
  requestsPerVu: number;
  /** Run the HTTP scenarios for this long instead of a fixed amount (soak). */
  durationSec?: number;
  sitters: number;
  owners: number;
  /** Chat pairs: two users in a direct room, one socket each, on different instances. */
  chatPairs: number;
  /** Messages each side of a pair sends (soak: sends until the HTTP phase ends). */
  chatMessages: number;
  /** Gap between two sends of one socket: under the 20 per 10 s per-socket limit. */
  chatEveryMs: number;
  /** Reservation days are drawn from this many days: few days make accepts compete for capacity. */
  days: number;
  /** Seconds between memory samples (soak). */
  sampleEverySec: number;
  /** Hard stop for the whole run, setup included. */
  maxSeconds: number;
}

export const PROFILES: Record<string, Profile> = {
  smoke: {
    name: 'smoke',
    vus: 40,
    requestsPerVu: 20,
    sitters: 6,
    owners: 12,
    chatPairs: 4,
    chatMessages: 8,
    chatEveryMs: 600,
    days: 8,
    sampleEverySec: 5,
    maxSeconds: 60,
  },
  standard: {
    name: 'standard',
    vus: 1000,
    requestsPerVu: 50,
    sitters: 50,
    owners: 200,
    chatPairs: 50,
    chatMessages: 20,
    chatEveryMs: 600,
    days: 30,
    sampleEverySec: 10,
    maxSeconds: 1800,
  },
  soak: {
    name: 'soak',
    vus: 100,
    requestsPerVu: 0,
    durationSec: 1800,
    sitters: 30,
    owners: 100,
    chatPairs: 20,
    chatMessages: Infinity,
    chatEveryMs: 2000,
    days: 60,
    sampleEverySec: 30,
    maxSeconds: 2100,
  },
};
