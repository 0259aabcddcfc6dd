import { MapPointIndex, type MapFilter } from './sitters.map-index';
import type { MapCell, MapGrid, SittersRepository } from './sitters.repository';

/**
 * How long a transaction may take between stamping a row's `updatedAt` and committing it: a sync
 * re-reads the rows stamped in this window before its previous sync began, so a row stamped early
 * and committed late is not missed. In steady state that is the last few seconds' changes.
 */
const COMMIT_SLACK_MS = 5_000;

/**
 * The active sitters' public points, kept in memory per instance for the map view. Grouping a whole city
 * in MySQL reads every row of the viewport per request (100k sitters: tens of milliseconds before any
 * concurrency); the in-memory index (MapPointIndex) reads only the buckets the viewport overlaps.
 *
 * It is exact, not a cache with an age: before every map request the snapshot applies the rows
 * changed since its last sync (one indexed range on `updatedAt`, usually empty). Requests arriving
 * while a sync runs share the next one, so a map read after a sitter's write (on any instance) sees
 * that write.
 */
export class SitterMapSnapshot {
  private readonly points = new MapPointIndex();
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
    return this.points.cells(grid, filter);
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
      if (r.visible) this.points.set({ ...r.point, ...this.publicPoint(r.point.id, r.point) });
      else this.points.delete(r.point.id);
    }
    // Rows stamped before `started - slack` had committed by the time this read ran (nor can one
    // be stamped there any more), so the next sync need not read them again.
    const settled = new Date(started - COMMIT_SLACK_MS);
    if (!this.settled || settled > this.settled) this.settled = settled;
  }
}
