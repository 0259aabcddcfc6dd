import { createHmac, timingSafeEqual } from 'node:crypto';
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
 * The key is derived from the deployment's secret (JWT_SECRET, which every instance already shares), so
 * every instance signs and checks with the same one and nothing about it lives in Redis: a Redis that
 * lost its keys cannot leave one instance signing with a key the others no longer know. Changing the
 * secret ends the cursors issued before it, as it ends the access tokens: the client starts again from
 * the first page, as after any 400 on `query.cursor`.
 */

/** Bytes of the HMAC kept in a cursor: 128 bits, 22 base64url characters. */
const MAC_BYTES = 16;

/** The cursor-signing key of a deployment (its own derivation: no other use of the secret shares it). */
export function cursorKeyFrom(secret: string): Buffer {
  return createHmac('sha256', secret).update('pawmate:geo-distance-cursor').digest();
}

function signingKey(geo: GeoIndex): Buffer {
  if (!geo.cursorKey) throw new Error(`geo index ${geo.kind} was made without a cursor secret: it cannot page`);
  return geo.cursorKey;
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
export function signCursor(geo: GeoIndex, scope: CursorScope, c: DistanceCursor): string {
  return mac(signingKey(geo), geo, scope, c).toString('base64url');
}

/** True when `signature` is the one signCursor gave for this index, query and position. */
export function cursorSigned(geo: GeoIndex, scope: CursorScope, c: DistanceCursor, signature: string): boolean {
  const given = Buffer.from(signature, 'base64url');
  return given.length === MAC_BYTES && timingSafeEqual(mac(signingKey(geo), geo, scope, c), given);
}
