import type { MapCell, MapGrid, MapPoint } from './sitters.repository';
import type { PetSize, Service } from './sitters.schemas';

/** What the map filters on: the services a sitter prices and the pet sizes it accepts. */
export interface MapFilter {
  service?: Service;
  petSize?: PetSize;
  /** Sitters of these accounts are left out (blocks with the viewer, either way). */
  hiddenUsers?: Set<number>;
}

const SERVICE_BIT: Record<Service, number> = { boarding: 1, daycare: 2, walking: 4, drop_in: 8 };
const SIZE_BIT: Record<PetSize, number> = { small: 1, medium: 2, large: 4 };

/**
 * Side of a bucket in degrees (≈ 1.1 km north–south): a street viewport reads one to four buckets of a
 * few dozen points, a 30 km city about a thousand. Buckets are world-anchored like the map's cells.
 */
const BUCKET_DEG = 0.01;
/** Bucket columns run 0‥36 000 (lng −180 and +180 both have one); the key needs one stride more. */
const BUCKET_STRIDE = 36_001;
const bucketRow = (lat: number) => Math.floor((lat + 90) / BUCKET_DEG);
const bucketCol = (lng: number) => Math.floor((lng + 180) / BUCKET_DEG);

/**
 * One bucket's points as parallel typed arrays, so a scan reads memory in order and allocates
 * nothing. A removal moves the last point into the hole.
 */
class Bucket {
  n = 0;
  lat = new Float64Array(8);
  lng = new Float64Array(8);
  id = new Float64Array(8);
  user = new Float64Array(8);
  /** Services in bits 0–3, sizes in bits 4–6. */
  bits = new Uint8Array(8);

  constructor(
    readonly row: number,
    readonly col: number,
  ) {}

  push(p: MapPoint): number {
    if (this.n === this.lat.length) this.grow();
    this.put(this.n, p);
    return this.n++;
  }

  put(i: number, p: MapPoint): void {
    this.lat[i] = p.lat;
    this.lng[i] = p.lng;
    this.id[i] = p.id;
    this.user[i] = p.userId;
    this.bits[i] = p.services | (p.sizes << 4);
  }

  /** Moves the last point to `i`; returns the id of the point moved (or null when `i` was the last). */
  removeAt(i: number): number | null {
    const last = --this.n;
    if (i === last) return null;
    this.lat[i] = this.lat[last];
    this.lng[i] = this.lng[last];
    this.id[i] = this.id[last];
    this.user[i] = this.user[last];
    this.bits[i] = this.bits[last];
    return this.id[i];
  }

  private grow(): void {
    const size = this.lat.length * 2;
    this.lat = resized(this.lat, new Float64Array(size));
    this.lng = resized(this.lng, new Float64Array(size));
    this.id = resized(this.id, new Float64Array(size));
    this.user = resized(this.user, new Float64Array(size));
    this.bits = resized(this.bits, new Uint8Array(size));
  }
}

function resized<T extends Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/**
 * The map's points in a fixed grid of buckets, updated one point at a time (an insert, a move or a
 * removal costs O(1), never a rebuild), so a viewport reads only the buckets it overlaps.
 */
export class MapPointIndex {
  private readonly buckets = new Map<number, Bucket>();
  private readonly where = new Map<number, { bucket: Bucket; i: number }>();

  get size(): number {
    return this.where.size;
  }

  /** Adds the point, or moves and updates it if its id is already here. */
  set(p: MapPoint): void {
    const row = bucketRow(p.lat);
    const col = bucketCol(p.lng);
    const at = this.where.get(p.id);
    if (at && at.bucket.row === row && at.bucket.col === col) {
      at.bucket.put(at.i, p);
      return;
    }
    if (at) this.delete(p.id);
    const key = row * BUCKET_STRIDE + col;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new Bucket(row, col)));
    this.where.set(p.id, { bucket, i: bucket.push(p) });
  }

  delete(id: number): void {
    const at = this.where.get(id);
    if (!at) return;
    this.where.delete(id);
    const moved = at.bucket.removeAt(at.i);
    if (moved !== null) this.where.get(moved)!.i = at.i;
    if (at.bucket.n === 0) this.buckets.delete(at.bucket.row * BUCKET_STRIDE + at.bucket.col);
  }

  /** Counts per cell of a world-anchored grid (see mapGrid), with each cell's mean and lowest id. */
  cells(grid: MapGrid, filter: MapFilter): MapCell[] {
    const acc = new CellAccumulator(grid, filter);
    const rows = [bucketRow(grid.minLat), bucketRow(grid.maxLat)] as const;
    const cols: Array<readonly [number, number]> =
      grid.minLng <= grid.maxLng
        ? [[bucketCol(grid.minLng), bucketCol(grid.maxLng)]]
        : [
            [bucketCol(grid.minLng), bucketCol(180)],
            [bucketCol(-180), bucketCol(grid.maxLng)],
          ];
    const reachable = (rows[1] - rows[0] + 1) * cols.reduce((n, [a, b]) => n + b - a + 1, 0);
    if (reachable > this.buckets.size) {
      // A viewport larger than the populated world (a continent, the whole map): visit every bucket once.
      for (const b of this.buckets.values()) {
        if (b.row >= rows[0] && b.row <= rows[1] && cols.some(([a, z]) => b.col >= a && b.col <= z)) acc.scan(b);
      }
    } else {
      for (let r = rows[0]; r <= rows[1]; r++) {
        for (const [a, z] of cols) {
          for (let c = a; c <= z; c++) {
            const b = this.buckets.get(r * BUCKET_STRIDE + c);
            if (b) acc.scan(b);
          }
        }
      }
    }
    return acc.result();
  }
}

/**
 * The grid's cells over one viewport as flat arrays indexed by the cell's place in the viewport
 * (at most 21 × 24, see CELLS_ACROSS), so grouping a point is arithmetic, not a hash lookup. Where
 * the viewport wraps at ±180°, the columns east of minLng come first, then those from −180°.
 */
class CellAccumulator {
  private readonly wraps: boolean;
  private readonly service: number;
  private readonly size: number;
  private readonly hidden: Set<number> | null;
  private readonly row0: number;
  private readonly col0: number;
  /** Columns from col0 to the one of lng +180 (where the viewport wraps). */
  private readonly eastCols: number;
  private readonly cols: number;
  private readonly count: Float64Array;
  private readonly sumLat: Float64Array;
  private readonly sumLng: Float64Array;
  private readonly firstId: Float64Array;

  constructor(
    private readonly grid: MapGrid,
    filter: MapFilter,
  ) {
    this.wraps = grid.minLng > grid.maxLng;
    this.service = filter.service ? SERVICE_BIT[filter.service] : 0;
    this.size = (filter.petSize ? SIZE_BIT[filter.petSize] : 0) << 4;
    this.hidden = filter.hiddenUsers?.size ? filter.hiddenUsers : null;
    this.row0 = this.rowOf(grid.minLat);
    this.col0 = this.colOf(grid.minLng);
    const lastCol = this.colOf(grid.maxLng);
    if (this.wraps) {
      this.eastCols = this.colOf(180) - this.col0 + 1;
      this.cols = this.eastCols + Math.min(lastCol + 1, this.col0);
    } else {
      this.eastCols = 0;
      this.cols = lastCol - this.col0 + 1;
    }
    const cells = (this.rowOf(grid.maxLat) - this.row0 + 1) * this.cols;
    this.count = new Float64Array(cells);
    this.sumLat = new Float64Array(cells);
    this.sumLng = new Float64Array(cells);
    this.firstId = new Float64Array(cells).fill(Infinity);
  }

  private rowOf(lat: number): number {
    return Math.floor((lat + 90) / this.grid.cellLat);
  }

  private colOf(lng: number): number {
    return Math.floor((lng + 180) / this.grid.cellLng);
  }

  scan(b: Bucket): void {
    const { minLat, maxLat, minLng, maxLng, cellLat, cellLng } = this.grid;
    const { wraps, service, size, hidden, row0, col0, eastCols, cols } = this;
    const { count, sumLat, sumLng, firstId } = this;
    const { lat, lng, bits, id, user } = b;
    for (let i = 0, n = b.n; i < n; i++) {
      const y = lat[i];
      const x = lng[i];
      if (y < minLat || y > maxLat) continue;
      if (wraps ? x < minLng && x > maxLng : x < minLng || x > maxLng) continue;
      const m = bits[i];
      if ((m & service) !== service || (m & size) !== size) continue;
      if (hidden !== null && hidden.has(user[i])) continue;
      const c = Math.floor((x + 180) / cellLng);
      const k = (Math.floor((y + 90) / cellLat) - row0) * cols + (c >= col0 ? c - col0 : eastCols + c);
      count[k]++;
      sumLat[k] += y;
      sumLng[k] += x;
      if (id[i] < firstId[k]) firstId[k] = id[i];
    }
  }

  result(): MapCell[] {
    const out: MapCell[] = [];
    const { count, sumLat, sumLng, firstId } = this;
    for (let k = 0; k < count.length; k++) {
      const n = count[k];
      if (n > 0) out.push({ count: n, lat: sumLat[k] / n, lng: sumLng[k] / n, firstId: firstId[k] });
    }
    return out;
  }
}
