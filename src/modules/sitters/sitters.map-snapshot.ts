import type { MapCell, MapGrid, MapPoint, SittersRepository } from './sitters.repository';
import type { PetSize, Service } from './sitters.schemas';

/** What the map filters on: the services a sitter prices and the pet sizes it accepts. */
export interface MapFilter {
  service?: Service;
  petSize?: PetSize;
  /** Sitters of these accounts are left out (blocks with the viewer, either way). */
  hiddenUsers?: Set<number>;
}

/**
 * How long a transaction may take between stamping a row's `updatedAt` and committing it: a sync
 * re-reads the rows stamped in this window before its previous sync began, so a row stamped early
 * and committed late is not missed. In steady state that is the last few seconds' changes.
 */
const COMMIT_SLACK_MS = 5_000;

/**
 * The active sitters' public points, kept in memory per instance for the map view. Grouping a whole city
 * in MySQL reads every row of the viewport per request (100k sitters: tens of milliseconds before any
 * concurrency); a walk over this array takes a few, and a whole city is the map's common case.
 *
 * It is exact, not a cache with an age: before every map request the snapshot applies the rows
 * changed since its last sync (one indexed range on `updatedAt`, usually empty). Requests arriving
 * while a sync runs share the next one, so a map read after a sitter's write (on any instance) sees
 * that write.
 */
export class SitterMapSnapshot {
  private readonly points = new Map<number, MapPoint>();
  /** Every row stamped before this had committed when a sync read the table (null: load everything). */
  private settled: Date | null = null;
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;

  constructor(
    private readonly repo: SittersRepository,
    private readonly now: () => Date,
    /** Where strangers see a sitter (PublicLocations): the only point the map ever filters, groups or shows. */
    private readonly publicPoint: (
      sitterId: number,
      home: { lat: number; lng: number },
    ) => { lat: number; lng: number },
  ) {}

  /** The grid's cells over the sitters in the viewport that pass the filter, as of now. */
  async cells(grid: MapGrid, filter: MapFilter): Promise<MapCell[]> {
    await this.sync();
    return groupCells(this.points.values(), grid, filter);
  }

  /** One sync at a time; callers arriving during one wait for the one after it (it may miss their writes). */
  private sync(): Promise<void> {
    if (!this.running) {
      this.running = this.pull().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.sync();
      });
    return this.next;
  }

  private async pull(): Promise<void> {
    const started = this.now().getTime();
    const rows = await this.repo.mapPoints(this.settled);
    for (const r of rows) {
      // The home never enters the snapshot: a viewport edge moved in small steps across a lone
      // sitter must find no more than the public point the marker shows anyway.
      if (r.visible) this.points.set(r.point.id, { ...r.point, ...this.publicPoint(r.point.id, r.point) });
      else this.points.delete(r.point.id);
    }
    // Rows stamped before `started - slack` had committed by the time this read ran (nor can one
    // be stamped there any more), so the next sync need not read them again.
    const settled = new Date(started - COMMIT_SLACK_MS);
    if (!this.settled || settled > this.settled) this.settled = settled;
  }
}

const SERVICE_BIT: Record<Service, number> = { boarding: 1, daycare: 2, walking: 4, drop_in: 8 };
const SIZE_BIT: Record<PetSize, number> = { small: 1, medium: 2, large: 4 };

/** Counts per cell of a world-anchored grid (see mapGrid), with each cell's mean and lowest id. */
export function groupCells(points: Iterable<MapPoint>, grid: MapGrid, filter: MapFilter): MapCell[] {
  const wraps = grid.minLng > grid.maxLng;
  const service = filter.service ? SERVICE_BIT[filter.service] : 0;
  const size = filter.petSize ? SIZE_BIT[filter.petSize] : 0;
  const cells = new Map<number, MapCell & { sumLat: number; sumLng: number }>();
  for (const p of points) {
    if (p.lat < grid.minLat || p.lat > grid.maxLat) continue;
    if (wraps ? p.lng < grid.minLng && p.lng > grid.maxLng : p.lng < grid.minLng || p.lng > grid.maxLng) continue;
    if ((p.services & service) !== service || (p.sizes & size) !== size) continue;
    if (filter.hiddenUsers?.has(p.userId)) continue;
    const key = Math.floor((p.lat + 90) / grid.cellLat) * 5_000_000 + Math.floor((p.lng + 180) / grid.cellLng);
    const c = cells.get(key);
    if (!c) cells.set(key, { count: 1, lat: p.lat, lng: p.lng, firstId: p.id, sumLat: p.lat, sumLng: p.lng });
    else {
      c.count++;
      c.sumLat += p.lat;
      c.sumLng += p.lng;
      if (p.id < c.firstId) c.firstId = p.id;
    }
  }
  return [...cells.values()].map((c) => ({
    count: c.count,
    lat: c.count === 1 ? c.lat : c.sumLat / c.count,
    lng: c.count === 1 ? c.lng : c.sumLng / c.count,
    firstId: c.firstId,
  }));
}
