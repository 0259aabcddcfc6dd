import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GeoIndex } from './geo';
import type { DistanceCursor } from './geo-paging';

/**
 * Signatures for the cursors of the nearest-first pager (geo-paging.ts). A page after a cursor reads a
 * snapshot of the disk the cursor's distance falls in, and makes it when missing: up to SNAPSHOT_CAP
 * members (≈ 2 MB) kept SNAPSHOT_TTL_SEC. A client that pages there has paid for that depth page by
 * page; a forged cursor naming a distance deep in a dense circle would get the snapshot for one
 * request. So the cursors we issue carry an HMAC of (index, centre, radius, distance, id), and a cursor
 * without a valid one is refused before Redis is asked anything.
 *
 * The key is random, kept in Redis beside the index (`<geo key>:cursor-key`, same hash slot), so every
 * instance signs and checks with the same one without configuration. Each process reads it at most once
 * a minute; a cursor that fails the check is checked again with a fresh read, so a key made anew (after
 * Redis lost its keys) is picked up at once. Cursors issued before such a loss are refused: the client
 * starts again from the first page, as after any 400 on `query.cursor`.
 */

/** How long a process trusts the key it read (ms). */
const KEY_CACHE_MS = 60_000;

/** Bytes of the HMAC kept in a cursor: 128 bits, 22 base64url characters. */
const MAC_BYTES = 16;

const cached = new WeakMap<GeoIndex, { key: Buffer; until: number }>();

/** The index's signing key: the one in Redis, or a new one stored there when there is none. */
async function signingKey(geo: GeoIndex, fresh = false): Promise<Buffer> {
  const hit = cached.get(geo);
  if (hit && !fresh && hit.until > Date.now()) return hit.key;
  const mine = randomBytes(32).toString('base64url');
  // SET … NX GET: the key already there (another instance made it first), or null when ours was stored.
  const theirs = (await geo.redis.set(`${geo.key}:cursor-key`, mine, 'NX', 'GET')) as string | null;
  const key = Buffer.from(theirs ?? mine, 'base64url');
  cached.set(geo, { key, until: Date.now() + KEY_CACHE_MS });
  return key;
}

/** What a cursor is bound to besides its position: a cursor of one query is no cursor of another. */
export interface CursorScope {
  center: { lat: number; lng: number };
  radiusKm: number;
  /**
   * The filter that chooses which index a page reads (a meetups search by tag reads the tag's small
   * index): signed with the cursor, so a cursor that got deep cheaply there is no cursor of the search
   * without it, where the same depth means a snapshot of the whole index.
   */
  indexFilter?: string;
}

function mac(key: Buffer, geo: GeoIndex, scope: CursorScope, c: DistanceCursor): Buffer {
  const parts = [geo.key, scope.center.lat, scope.center.lng, scope.radiusKm, c.d, c.i];
  // Appended only when set: the cursors of searches without one keep the signatures they had.
  if (scope.indexFilter !== undefined) parts.push(`f=${scope.indexFilter}`);
  const text = parts.join('|');
  return createHmac('sha256', key).update(text).digest().subarray(0, MAC_BYTES);
}

/** The signature to put in the cursor issued for position `c` of this query. */
export async function signCursor(geo: GeoIndex, scope: CursorScope, c: DistanceCursor): Promise<string> {
  return mac(await signingKey(geo), geo, scope, c).toString('base64url');
}

/** True when `signature` is the one signCursor gave for this index, query and position. */
export async function cursorSigned(
  geo: GeoIndex,
  scope: CursorScope,
  c: DistanceCursor,
  signature: string,
): Promise<boolean> {
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== MAC_BYTES) return false;
  const matches = (key: Buffer) => timingSafeEqual(mac(key, geo, scope, c), given);
  return matches(await signingKey(geo)) || matches(await signingKey(geo, true));
}
