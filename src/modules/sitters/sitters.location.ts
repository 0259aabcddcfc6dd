import { createHmac } from 'node:crypto';

export interface Point {
  lat: number;
  lng: number;
}

/** Grid step of the public point, in degrees of latitude (≈ 220 m); longitude steps are as many metres. */
const STEP_DEG = 0.002;

/**
 * Where strangers see a sitter: the centre of the cell of a ≈ 220 m grid holding the home, the grid
 * shifted by an offset only the server can compute (HMAC of the sitter id with a server secret).
 * The same sitter at the same home always gets the same point, so repeated queries cannot average
 * the rounding out, and the shift differs per sitter, so the grid lines cannot be learnt from
 * others. The point is at most ≈ 160 m from the home.
 */
export class PublicLocations {
  private readonly key: Buffer;

  constructor(serverSecret: string) {
    // A key of its own, derived once: the secret itself is never used for anything else here.
    this.key = createHmac('sha256', serverSecret).update('pawmate:sitter-public-location').digest();
  }

  /** The rounded point shown for sitter `sitterId` whose home is at `exact`. */
  publicPoint(sitterId: number, exact: Point): Point {
    const digest = createHmac('sha256', this.key).update(String(sitterId)).digest();
    const shiftLat = (digest.readUInt32BE(0) / 2 ** 32) * STEP_DEG;
    const lat = snap(exact.lat, STEP_DEG, shiftLat);
    // Longitude cells as wide in metres as latitude ones, measured at the cell's (public) latitude.
    const stepLng = STEP_DEG / Math.max(Math.cos((lat * Math.PI) / 180), 0.05);
    const shiftLng = (digest.readUInt32BE(4) / 2 ** 32) * stepLng;
    let lng = snap(exact.lng, stepLng, shiftLng);
    if (lng > 180) lng -= 360;
    if (lng < -180) lng += 360;
    return { lat: round6(Math.max(-85.05, Math.min(85.05, lat))), lng: round6(lng) };
  }
}

/** The centre of the cell holding `value` on a grid of `step` shifted by `shift`. */
function snap(value: number, step: number, shift: number): number {
  return Math.floor((value - shift) / step) * step + shift + step / 2;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
