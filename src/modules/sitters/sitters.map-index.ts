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
/** A filter's place in a bucket summary: 0 for none, else 1 + the bit's position. */
const SERVICE_SLOT: Record<Service, number> = { boarding: 1, daycare: 2, walking: 3, drop_in: 4 };
const SIZE_SLOT: Record<PetSize, number> = { small: 1, medium: 2, large: 3 };

/**
 * Side of a bucket in degrees: 90° / 2^14 (≈ 610 m north–south). A street viewport reads a few buckets
 * of a few dozen points. Buckets are world-anchored like the map's cells, whose side at zoom z is
 * 90° / 2^z: up to zoom 14 a bucket lies inside one cell, so a city is summed bucket by bucket.
 */
const BUCKET_DEG = 90 / 2 ** 14;
/** Bucket columns run 0‥65 536 (lng −180 and +180 both have one); the key needs one stride more. */
const BUCKET_STRIDE = 2 ** 16 + 1;
/** Buckets with fewer points are always scanned point by point (their summary would cost more than it saves). */
const SUMMARY_MIN_POINTS = 8;
/** A summary keeps, per filter (no service or one of 4, × no size or one of 3), count, Σlat, Σlng, lowest id. */
const FILTERS = 5 * 4;
const filterIndex = (service: number, size: number) => service * 4 + size;
/**
 * Buckets are grouped 8 × 8 into blocks of 90° / 2^11 (≈ 4.9 km) with their own sums: up to zoom 11
 * (a city) a block lies inside one cell, so a city is a few dozen blocks, not thousands of buckets.
 */
const BLOCK_SHIFT = 3;
const BLOCK_STRIDE = (BUCKET_STRIDE >> BLOCK_SHIFT) + 1;
const bucketRow = (lat: number) => Math.floor((lat + 90) / BUCKET_DEG);
const bucketCol = (lng: number) => Math.floor((lng + 180) / BUCKET_DEG);

/**
 * One bucket's points as parallel typed arrays, so a scan reads memory in order and allocates
 * nothing. A removal moves the last point into the hole.
 */
class Bucket {
  n = 0;
  block!: Block;
  lat = new Float64Array(8);
  lng = new Float64Array(8);
  id = new Float64Array(8);
  user = new Float64Array(8);
  /** Services in bits 0–3, sizes in bits 4–6. */
  bits = new Uint8Array(8);
  /** Recomputed from the points when read after a change (exact sums, no drift from updates). */
  private summary: BucketSummary | null = null;
  private dirty = true;

  constructor(
    readonly row: number,
    readonly col: number,
  ) {}

  push(p: MapPoint): number {
    if (this.n === this.lat.length) this.grow();
    this.put(this.n, p);
    this.block.n++;
    return this.n++;
  }

  put(i: number, p: MapPoint): void {
    this.dirty = true;
    this.block.dirty = true;
    this.lat[i] = p.lat;
    this.lng[i] = p.lng;
    this.id[i] = p.id;
    this.user[i] = p.userId;
    this.bits[i] = p.services | (p.sizes << 4);
  }

  /** Moves the last point to `i`; returns the id of the point moved (or null when `i` was the last). */
  removeAt(i: number): number | null {
    this.dirty = true;
    this.block.dirty = true;
    this.block.n--;
    const last = --this.n;
    if (i === last) return null;
    this.lat[i] = this.lat[last];
    this.lng[i] = this.lng[last];
    this.id[i] = this.id[last];
    this.user[i] = this.user[last];
    this.bits[i] = this.bits[last];
    return this.id[i];
  }

  /** The bucket's bounding box and per-filter sums; null for a bucket too small to be worth one. */
  summarized(): BucketSummary | null {
    if (this.n < SUMMARY_MIN_POINTS) return null;
    if (this.dirty || !this.summary) {
      this.summary = summarize([this]);
      this.dirty = false;
    }
    return this.summary;
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

interface BucketSummary {
  minLat: number;
  maxLat: number;
  minLng: number;
  maxLng: number;
  /** [count, Σlat, Σlng, lowest id] per filter (see filterIndex). */
  sums: Float64Array;
}

/** 8 × 8 buckets (those with points) and the sums over all their points. */
class Block {
  n = 0;
  dirty = true;
  readonly buckets: Bucket[] = [];
  private summary: BucketSummary | null = null;

  constructor(
    readonly row: number,
    readonly col: number,
  ) {}

  summarized(): BucketSummary | null {
    if (this.n < SUMMARY_MIN_POINTS) return null;
    if (this.dirty || !this.summary) {
      this.summary = summarize(this.buckets);
      this.dirty = false;
    }
    return this.summary;
  }
}

function summarize(buckets: Bucket[]): BucketSummary {
  const sums = new Float64Array(FILTERS * 4);
  for (let f = 0; f < FILTERS; f++) sums[f * 4 + 3] = Infinity;
  let [minLat, maxLat, minLng, maxLng] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const b of buckets) {
    for (let i = 0; i < b.n; i++) {
      const y = b.lat[i];
      const x = b.lng[i];
      const m = b.bits[i];
      minLat = Math.min(minLat, y);
      maxLat = Math.max(maxLat, y);
      minLng = Math.min(minLng, x);
      maxLng = Math.max(maxLng, x);
      for (let sv = 0; sv <= 4; sv++) {
        if (sv > 0 && !(m & (1 << (sv - 1)))) continue;
        for (let sz = 0; sz <= 3; sz++) {
          if (sz > 0 && !(m & (1 << (sz + 3)))) continue;
          const at = filterIndex(sv, sz) * 4;
          sums[at]++;
          sums[at + 1] += y;
          sums[at + 2] += x;
          if (b.id[i] < sums[at + 3]) sums[at + 3] = b.id[i];
        }
      }
    }
  }
  return { minLat, maxLat, minLng, maxLng, sums };
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
  private readonly blocks = new Map<number, Block>();
  private readonly where = new Map<number, { bucket: Bucket; i: number }>();
  /** A sitter's id by its account (one profile an account), to find the buckets of blocked accounts. */
  private readonly byUser = new Map<number, number>();

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
    this.byUser.set(p.userId, p.id);
    const key = row * BUCKET_STRIDE + col;
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = this.newBucket(row, col)));
    this.where.set(p.id, { bucket, i: bucket.push(p) });
  }

  delete(id: number): void {
    const at = this.where.get(id);
    if (!at) return;
    this.where.delete(id);
    const user = at.bucket.user[at.i];
    if (this.byUser.get(user) === id) this.byUser.delete(user);
    const moved = at.bucket.removeAt(at.i);
    if (moved !== null) this.where.get(moved)!.i = at.i;
    if (at.bucket.n === 0) this.dropBucket(at.bucket);
  }

  private newBucket(row: number, col: number): Bucket {
    const bucket = new Bucket(row, col);
    const key = (row >> BLOCK_SHIFT) * BLOCK_STRIDE + (col >> BLOCK_SHIFT);
    let block = this.blocks.get(key);
    if (!block) this.blocks.set(key, (block = new Block(row >> BLOCK_SHIFT, col >> BLOCK_SHIFT)));
    block.buckets.push(bucket);
    bucket.block = block;
    return bucket;
  }

  private dropBucket(bucket: Bucket): void {
    this.buckets.delete(bucket.row * BUCKET_STRIDE + bucket.col);
    const { block } = bucket;
    block.buckets.splice(block.buckets.indexOf(bucket), 1);
    if (block.buckets.length === 0) this.blocks.delete(block.row * BLOCK_STRIDE + block.col);
  }

  /** Counts per cell of a world-anchored grid (see mapGrid), with each cell's mean and lowest id. */
  cells(grid: MapGrid, filter: MapFilter): MapCell[] {
    // Buckets (and blocks) holding a hidden account's point are read point by point; others may use their sums.
    const withHidden = new Set<Bucket | Block>();
    for (const u of filter.hiddenUsers ?? []) {
      const id = this.byUser.get(u);
      if (id === undefined) continue;
      const { bucket } = this.where.get(id)!;
      withHidden.add(bucket).add(bucket.block);
    }
    const acc = new CellAccumulator(grid, filter, withHidden);
    const rows = [bucketRow(grid.minLat), bucketRow(grid.maxLat)] as const;
    const cols: Array<readonly [number, number]> =
      grid.minLng <= grid.maxLng
        ? [[bucketCol(grid.minLng), bucketCol(grid.maxLng)]]
        : [
            [bucketCol(grid.minLng), bucketCol(180)],
            [bucketCol(-180), bucketCol(grid.maxLng)],
          ];
    const inRange = (b: Bucket) =>
      b.row >= rows[0] && b.row <= rows[1] && cols.some(([a, z]) => b.col >= a && b.col <= z);
    const visit = (block: Block) => {
      if (withHidden.has(block) || !acc.addSums(block.summarized())) {
        for (const b of block.buckets) if (inRange(b)) acc.add(b);
      }
    };
    const blockRows = [rows[0] >> BLOCK_SHIFT, rows[1] >> BLOCK_SHIFT] as const;
    let blockCols = cols.map(([a, z]) => [a >> BLOCK_SHIFT, z >> BLOCK_SHIFT] as const);
    // A viewport wrapping almost all the way round may start and end in one block: visit it once.
    if (blockCols.length === 2 && blockCols[1][1] >= blockCols[0][0]) blockCols = [[0, blockCols[0][1]]];
    const reachable = (blockRows[1] - blockRows[0] + 1) * blockCols.reduce((n, [a, z]) => n + z - a + 1, 0);
    if (reachable > this.blocks.size) {
      // A viewport larger than the populated world (a continent, the whole map): visit every block once.
      for (const block of this.blocks.values()) {
        const colIn = blockCols.some(([a, z]) => block.col >= a && block.col <= z);
        if (block.row >= blockRows[0] && block.row <= blockRows[1] && colIn) visit(block);
      }
    } else {
      for (let r = blockRows[0]; r <= blockRows[1]; r++) {
        for (const [a, z] of blockCols) {
          for (let c = a; c <= z; c++) {
            const block = this.blocks.get(r * BLOCK_STRIDE + c);
            if (block) visit(block);
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
  /** Where this filter's sums sit in a bucket summary. */
  private readonly sumsAt: number;
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
    private readonly withHidden: Set<Bucket | Block>,
  ) {
    this.wraps = grid.minLng > grid.maxLng;
    this.service = filter.service ? SERVICE_BIT[filter.service] : 0;
    this.size = (filter.petSize ? SIZE_BIT[filter.petSize] : 0) << 4;
    this.hidden = filter.hiddenUsers?.size ? filter.hiddenUsers : null;
    this.sumsAt =
      filterIndex(filter.service ? SERVICE_SLOT[filter.service] : 0, filter.petSize ? SIZE_SLOT[filter.petSize] : 0) *
      4;
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

  /** A bucket's sums if they fit (see addSums), else its points one by one. */
  add(b: Bucket): void {
    if (this.withHidden.has(b) || !this.addSums(b.summarized())) this.scan(b);
  }

  /**
   * Sums of points that all lie in the viewport and in one cell (floor is monotonic, so their bounding
   * box's corners tell) are added whole; false when they do not fit, and the caller reads deeper.
   */
  addSums(box: BucketSummary | null): boolean {
    if (box === null) return false;
    const { minLat, maxLat, minLng, maxLng } = this.grid;
    if (box.minLat < minLat || box.maxLat > maxLat) return false;
    const lngIn = this.wraps
      ? box.minLng >= minLng || box.maxLng <= maxLng
      : box.minLng >= minLng && box.maxLng <= maxLng;
    if (!lngIn) return false;
    const row = this.rowOf(box.minLat);
    const c = this.colOf(box.minLng);
    if (row !== this.rowOf(box.maxLat) || c !== this.colOf(box.maxLng)) return false;
    const at = this.sumsAt;
    const n = box.sums[at];
    if (n === 0) return true;
    const k = (row - this.row0) * this.cols + (c >= this.col0 ? c - this.col0 : this.eastCols + c);
    this.count[k] += n;
    this.sumLat[k] += box.sums[at + 1];
    this.sumLng[k] += box.sums[at + 2];
    if (box.sums[at + 3] < this.firstId[k]) this.firstId[k] = box.sums[at + 3];
    return true;
  }

  private scan(b: Bucket): void {
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
