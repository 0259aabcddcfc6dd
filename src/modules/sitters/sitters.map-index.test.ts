import { prng } from '../../../test/helpers/random';
import { mapGrid, type MapQuery } from './sitters.map';
import { MapPointIndex, type MapFilter } from './sitters.map-index';
import type { MapCell, MapGrid, MapPoint } from './sitters.repository';

/**
 * The bucket index against a brute force over every point, after inserts, moves and removals made
 * between reads: same cells, same counts, same lone ids, for viewports from the world to a street
 * and across the antimeridian.
 */
const rnd = prng(20261207);

function randomPoint(id: number): MapPoint {
  const where = rnd();
  let lat: number;
  let lng: number;
  if (where < 0.1) {
    lat = -85 + rnd() * 170;
    lng = -180 + rnd() * 360;
  } else if (where < 0.2) {
    lat = -17 - rnd();
    lng = rnd() < 0.5 ? 179.5 + rnd() * 0.5 : -180 + rnd() * 0.5;
  } else if (where < 0.22) {
    // On the antimeridian itself and on bucket edges.
    lat = 37.5 + Math.floor(rnd() * 10) * 0.01;
    lng = [180, -180, 127, 126.99][Math.floor(rnd() * 4)];
  } else if (where < 0.5) {
    // A dense block (dozens of points a bucket), so buckets are summed whole as well as read point by point.
    lat = 37.55 + rnd() * 0.02;
    lng = 126.95 + rnd() * 0.02;
  } else {
    lat = 37.45 + rnd() * 0.2;
    lng = 126.85 + rnd() * 0.25;
  }
  return { id, userId: 1000 + id, lat, lng, services: 1 + Math.floor(rnd() * 15), sizes: 1 + Math.floor(rnd() * 7) };
}

const SERVICE_BIT = { boarding: 1, daycare: 2, walking: 4, drop_in: 8 } as const;
const SIZE_BIT = { small: 1, medium: 2, large: 4 } as const;

/** Every point tested, grouped by its global cell key. */
function bruteForce(points: Iterable<MapPoint>, g: MapGrid, f: MapFilter): MapCell[] {
  const cells = new Map<string, MapCell & { ids: number[] }>();
  for (const p of points) {
    const lngIn =
      g.minLng <= g.maxLng ? p.lng >= g.minLng && p.lng <= g.maxLng : p.lng >= g.minLng || p.lng <= g.maxLng;
    if (p.lat < g.minLat || p.lat > g.maxLat || !lngIn) continue;
    if (f.service && !(p.services & SERVICE_BIT[f.service])) continue;
    if (f.petSize && !(p.sizes & SIZE_BIT[f.petSize])) continue;
    if (f.hiddenUsers?.has(p.userId)) continue;
    const key = `${Math.floor((p.lat + 90) / g.cellLat)}/${Math.floor((p.lng + 180) / g.cellLng)}`;
    const c = cells.get(key) ?? { count: 0, lat: 0, lng: 0, firstId: Infinity, ids: [] };
    c.count++;
    c.lat += p.lat;
    c.lng += p.lng;
    c.firstId = Math.min(c.firstId, p.id);
    cells.set(key, c);
  }
  return [...cells.values()].map((c) => ({
    count: c.count,
    lat: c.lat / c.count,
    lng: c.lng / c.count,
    firstId: c.firstId,
  }));
}

const VIEWPORTS: MapQuery[] = [
  { minLat: -85, minLng: -180, maxLat: 85, maxLng: 180, zoom: 1 },
  { minLat: 37.43, minLng: 126.8, maxLat: 37.7, maxLng: 127.16, zoom: 11 },
  { minLat: 37.5, minLng: 126.9, maxLat: 37.56, maxLng: 127.0, zoom: 14 },
  { minLat: 37.564, minLng: 126.975, maxLat: 37.569, maxLng: 126.98, zoom: 17 },
  { minLat: 37.5, minLng: 126.99, maxLat: 37.6, maxLng: 127.0, zoom: 20 },
  { minLat: -19, minLng: 179, maxLat: -16, maxLng: -179, zoom: 8 },
  { minLat: -19, minLng: 179.9, maxLat: -16, maxLng: -179.9, zoom: 12 },
  { minLat: -60, minLng: 10, maxLat: 60, maxLng: 9.99, zoom: 2 },
  // Over the dense block: cells of whole buckets, cells not aligned with buckets, an edge through it.
  { minLat: 37.54, minLng: 126.94, maxLat: 37.58, maxLng: 126.98, zoom: 12 },
  { minLat: 37.5, minLng: 126.9, maxLat: 37.6, maxLng: 127.1, zoom: 14 },
  { minLat: 37.5513, minLng: 126.9377, maxLat: 37.5611, maxLng: 126.9633, zoom: 16 },
];
const FILTERS: MapFilter[] = [
  {},
  { service: 'walking' },
  { petSize: 'large', service: 'boarding' },
  { service: 'drop_in', hiddenUsers: new Set([1000 + 7, 1000 + 8, 1000 + 500, 1000 + 2999, 42]) },
];

const sortCells = (cells: MapCell[]) => [...cells].sort((a, b) => a.lat - b.lat || a.lng - b.lng);

function expectSame(index: MapPointIndex, points: Map<number, MapPoint>, filter: MapFilter) {
  for (const v of VIEWPORTS) {
    const grid = mapGrid(v);
    const got = sortCells(index.cells(grid, filter));
    const want = sortCells(bruteForce(points.values(), grid, filter));
    expect(got.map((c) => [c.count, c.firstId])).toEqual(want.map((c) => [c.count, c.firstId]));
    got.forEach((c, i) => {
      expect(c.lat).toBeCloseTo(want[i].lat, 9);
      expect(c.lng).toBeCloseTo(want[i].lng, 9);
    });
  }
}

describe('MapPointIndex', () => {
  it('groups like a brute force over every point, through inserts, moves and removals between reads', () => {
    const index = new MapPointIndex();
    const points = new Map<number, MapPoint>();
    let nextId = 1;
    for (; nextId <= 3000; nextId++) {
      const p = randomPoint(nextId);
      points.set(p.id, p);
      index.set(p);
    }
    for (let round = 0; round < 6; round++) {
      for (const f of FILTERS) expectSame(index, points, f);
      const ids = [...points.keys()];
      for (let k = 0; k < 400; k++) {
        const id = ids[Math.floor(rnd() * ids.length)];
        const action = rnd();
        if (action < 0.3) {
          // A move to anywhere (another bucket, most of the time).
          const p = { ...randomPoint(id), userId: points.get(id)?.userId ?? 1000 + id };
          points.set(id, p);
          index.set(p);
        } else if (action < 0.45) {
          // A small move, often within the same bucket, and a change of services.
          const old = points.get(id);
          if (!old) continue;
          const p = { ...old, lat: old.lat + (rnd() - 0.5) * 1e-3, services: 1 + Math.floor(rnd() * 15) };
          points.set(id, p);
          index.set(p);
        } else if (action < 0.75) {
          points.delete(id);
          index.delete(id);
        } else {
          const p = randomPoint(nextId++);
          points.set(p.id, p);
          index.set(p);
        }
      }
      expect(index.size).toBe(points.size);
    }
  });

  it('counts each point once in a viewport that wraps almost all the way round', () => {
    // More blocks than a band of them holds, so the blocks are looked up by range, not all visited.
    const index = new MapPointIndex();
    const points = new Map<number, MapPoint>();
    for (let id = 1; id <= 20_000; id++) {
      // The first ones in the block where the viewport starts and ends, on both sides of the gap.
      const lng = id <= 20 ? 10.005 + (id % 2 ? 0.01 : -0.01) * rnd() : -180 + rnd() * 360;
      const p = { ...randomPoint(id), lat: id <= 20 ? 0.015 : rnd() * 0.2, lng };
      points.set(id, p);
      index.set(p);
    }
    const grid = mapGrid({ minLat: 0.01, minLng: 10.01, maxLat: 0.02, maxLng: 10, zoom: 3 });
    const total = (cells: MapCell[]) => cells.reduce((n, c) => n + c.count, 0);
    expect(total(index.cells(grid, {}))).toBe(total(bruteForce(points.values(), grid, {})));
  });

  it('leaves out hidden accounts, and forgets every point removed', () => {
    const index = new MapPointIndex();
    const a = { id: 1, userId: 11, lat: 37.5, lng: 127, services: 1, sizes: 1 };
    const b = { id: 2, userId: 12, lat: 37.5001, lng: 127.0001, services: 1, sizes: 1 };
    index.set(a);
    index.set(b);
    const grid = mapGrid({ minLat: 37.4, minLng: 126.9, maxLat: 37.6, maxLng: 127.1, zoom: 10 });
    const [both, ...none] = index.cells(grid, {});
    expect(none).toEqual([]);
    expect(both).toMatchObject({ count: 2, firstId: 1 });
    expect(both.lat).toBeCloseTo(37.50005, 9);
    expect(index.cells(grid, { hiddenUsers: new Set([11]) })).toEqual([
      { count: 1, lat: b.lat, lng: b.lng, firstId: 2 },
    ]);
    index.delete(1);
    index.delete(1);
    expect(index.cells(grid, {})).toEqual([{ count: 1, lat: b.lat, lng: b.lng, firstId: 2 }]);
    index.delete(2);
    expect(index.size).toBe(0);
    expect(index.cells(grid, {})).toEqual([]);
  });
});
