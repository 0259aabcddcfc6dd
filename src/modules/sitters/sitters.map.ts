import { InvalidFields, fieldError } from '../../errors';
import type { MapCell, MapGrid } from './sitters.repository';
import type { PetSize, Service } from './sitters.schemas';

export interface MapQuery {
  minLat: number;
  minLng: number;
  maxLat: number;
  maxLng: number;
  zoom: number;
  service?: Service;
  petSize?: PetSize;
}

export interface MapMarker {
  lat: number;
  lng: number;
  count: number;
  sitterId: number | null;
}

/**
 * At most this many cells across a viewport each way. The grid is anchored to the world (cells start
 * at −90°/−180°, so markers stay put while the map pans), so a viewport holds at most
 * CELLS_ACROSS + 1 rows and CELLS_ACROSS + 3 columns (one more where it wraps at ±180°):
 * 21 × 23 = 483 markers, within the contract's 500.
 */
export const CELLS_ACROSS = 20;
/** A cluster is about a quarter of a 256 px map tile: 64 px, the usual marker-cluster radius. */
const CELLS_PER_TILE = 4;
/** Cluster centres are rounded to this grid (≈ 220 m), like sitters' public points. */
const CENTRE_STEP = 0.002;

/** The grid for a viewport at a zoom level; 400 naming the field for a viewport upside down. */
export function mapGrid(q: MapQuery): MapGrid {
  if (q.maxLat < q.minLat) throw InvalidFields([fieldError('query.maxLat', 'must be greater than or equal to minLat')]);
  const spanLat = q.maxLat - q.minLat;
  const spanLng = q.minLng <= q.maxLng ? q.maxLng - q.minLng : q.maxLng + 360 - q.minLng;
  const zoomCell = 360 / 2 ** q.zoom / CELLS_PER_TILE;
  // A viewport larger than its zoom level would draw (a client asking for the world at street
  // level) gets coarser cells rather than more markers.
  return {
    minLat: q.minLat,
    maxLat: q.maxLat,
    minLng: q.minLng,
    maxLng: q.maxLng,
    cellLat: Math.max(zoomCell, spanLat / CELLS_ACROSS, 1e-6),
    cellLng: Math.max(zoomCell, spanLng / CELLS_ACROSS, 1e-6),
  };
}

/**
 * Markers from the grid's cells, which were built from public points only: a cell of one sitter is
 * that sitter at its public point; a crowd is its count at the mean of its members' public points,
 * rounded to ≈ 220 m.
 */
export function toMarkers(cells: MapCell[]): MapMarker[] {
  return cells.map((c) =>
    c.count === 1
      ? { lat: c.lat, lng: c.lng, count: 1, sitterId: c.firstId }
      : { lat: roundTo(c.lat, CENTRE_STEP), lng: roundTo(c.lng, CENTRE_STEP), count: c.count, sitterId: null },
  );
}

const roundTo = (x: number, step: number) => Math.round(Math.round(x / step) * step * 1e6) / 1e6;
