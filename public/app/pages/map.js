// The sitter map: clustered markers of the visible area (GET /sitters/map), drawn as SVG on a plain
// grid (the client loads nothing from other hosts, so there are no map tiles). Drag to pan, +/− to zoom.
import { api } from '../api.js';
import { h, put, select } from '../dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 640;
const HEIGHT = 400;
const TILE = 256; // Web Mercator: the world is TILE · 2^zoom pixels wide, as the API's `zoom` assumes
const SERVICES = ['boarding', 'daycare', 'walking', 'drop_in'];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

const worldPx = (zoom) => TILE * 2 ** zoom;
const clampLat = (lat) => Math.max(-85, Math.min(85, lat));
const wrapLng = (lng) => ((((lng + 180) % 360) + 360) % 360) - 180;

/** lat/lng → world pixels at `zoom`. */
function project({ lat, lng }, zoom) {
  const sin = Math.sin((clampLat(lat) * Math.PI) / 180);
  return {
    x: ((lng + 180) / 360) * worldPx(zoom),
    y: (0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI)) * worldPx(zoom),
  };
}

/** World pixels → lat/lng (the longitude wrapped into −180…180). */
function unproject({ x, y }, zoom) {
  const n = Math.PI - (2 * Math.PI * y) / worldPx(zoom);
  return { lat: (180 / Math.PI) * Math.atan(Math.sinh(n)), lng: wrapLng((x / worldPx(zoom)) * 360 - 180) };
}

/** The API's viewport for a centre and zoom: `minLng > maxLng` when it crosses the antimeridian. */
function viewport(center, zoom) {
  const c = project(center, zoom);
  const topLeft = unproject({ x: c.x - WIDTH / 2, y: c.y - HEIGHT / 2 }, zoom);
  const bottomRight = unproject({ x: c.x + WIDTH / 2, y: c.y + HEIGHT / 2 }, zoom);
  return {
    minLat: clampLat(bottomRight.lat),
    maxLat: clampLat(topLeft.lat),
    minLng: topLeft.lng,
    maxLng: bottomRight.lng,
  };
}

/** A marker's position on screen: the shorter way round the world from the centre. */
function toScreen(point, center, zoom) {
  const c = project(center, zoom);
  const p = project(point, zoom);
  let dx = p.x - c.x;
  if (dx > worldPx(zoom) / 2) dx -= worldPx(zoom);
  if (dx < -worldPx(zoom) / 2) dx += worldPx(zoom);
  return { x: WIDTH / 2 + dx, y: HEIGHT / 2 + (p.y - c.y) };
}

function markerNode(marker, at) {
  const count = marker.count;
  const r = count === 1 ? 7 : Math.min(28, 10 + 4 * Math.log2(count));
  const dot = s('circle', { cx: at.x.toFixed(1), cy: at.y.toFixed(1), r: r.toFixed(1) });
  if (marker.sitterId !== null) {
    return s(
      'a',
      { href: `#/sitters/${marker.sitterId}`, class: 'map-marker sitter', 'data-count': '1' },
      dot,
      s('title', {}, 'A sitter'),
    );
  }
  const label = s('text', { x: at.x.toFixed(1), y: (at.y + 4).toFixed(1), 'text-anchor': 'middle' }, String(count));
  return s(
    'g',
    { class: 'map-marker crowd', 'data-count': String(count) },
    dot,
    label,
    s('title', {}, `${count} sitters`),
  );
}

function grid() {
  const lines = [];
  for (let x = 0; x <= WIDTH; x += 64) lines.push(s('line', { x1: x, y1: 0, x2: x, y2: HEIGHT }));
  for (let y = 0; y <= HEIGHT; y += 64) lines.push(s('line', { x1: 0, y1: y, x2: WIDTH, y2: y }));
  return s('g', { class: 'map-grid' }, ...lines);
}

async function map(view, _params, query) {
  const state = {
    center: { lat: Number(query.get('lat') ?? 37.5665), lng: Number(query.get('lng') ?? 126.978) },
    zoom: Math.max(3, Math.min(18, Number(query.get('zoom') ?? 12))),
    service: query.get('service') ?? '',
  };
  const markers = s('g', {});
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, id: 'sitter-map', role: 'img' }, grid(), markers);
  const total = h('p', { id: 'map-total', class: 'muted' }, 'Loading…');
  let shown = 0; // answers can arrive out of order: only the newest request's is drawn

  async function refresh() {
    const mine = ++shown;
    svg.dataset.state = 'loading'; // 'ready' once this viewport's markers are drawn (tests wait for it)
    // Keep the view in the address bar without re-rendering the page (replaceState fires no hashchange).
    const q = new URLSearchParams({
      lat: state.center.lat.toFixed(5),
      lng: state.center.lng.toFixed(5),
      zoom: state.zoom,
    });
    if (state.service) q.set('service', state.service);
    history.replaceState(null, '', `#/map?${q}`);
    const vp = viewport(state.center, state.zoom);
    const answer = await api('GET', '/sitters/map', {
      query: { ...vp, zoom: state.zoom, ...(state.service ? { service: state.service } : {}) },
    });
    if (mine !== shown) return;
    markers.replaceChildren(...answer.items.map((m) => markerNode(m, toScreen(m, state.center, state.zoom))));
    const count = answer.items.reduce((sum, m) => sum + m.count, 0);
    total.textContent = `${count} ${count === 1 ? 'sitter' : 'sitters'} in view`;
    total.dataset.count = String(count);
    svg.dataset.state = 'ready';
  }

  // Drag to pan: move the drawing while the pointer is down, ask for the new viewport when it is let go.
  let drag = null;
  svg.addEventListener('pointerdown', (e) => {
    if (e.target.closest('a')) return; // a click on a sitter opens them
    drag = { x: e.clientX, y: e.clientY, scale: WIDTH / svg.getBoundingClientRect().width };
    svg.setPointerCapture(e.pointerId);
  });
  svg.addEventListener('pointermove', (e) => {
    if (drag)
      markers.setAttribute(
        'transform',
        `translate(${(e.clientX - drag.x) * drag.scale} ${(e.clientY - drag.y) * drag.scale})`,
      );
  });
  svg.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const c = project(state.center, state.zoom);
    const dx = (e.clientX - drag.x) * drag.scale;
    const dy = (e.clientY - drag.y) * drag.scale;
    drag = null;
    markers.removeAttribute('transform');
    if (Math.abs(dx) + Math.abs(dy) < 3) return;
    state.center = unproject({ x: c.x - dx, y: c.y - dy }, state.zoom);
    refresh().catch((err) => (total.textContent = err.message));
  });

  const zoomBy = (step) => () => {
    state.zoom = Math.max(3, Math.min(18, state.zoom + step));
    refresh().catch((err) => (total.textContent = err.message));
  };
  const service = select('Service', 'service', [['', 'any'], ...SERVICES.map((x) => [x])]);
  service.querySelector('select').value = state.service;
  service.addEventListener('change', (e) => {
    state.service = e.target.value;
    refresh().catch((err) => (total.textContent = err.message));
  });

  put(
    view,
    h('h2', {}, 'Sitters on the map'),
    h(
      'div',
      { class: 'row' },
      h('button', { class: 'secondary', id: 'map-zoom-in', onclick: zoomBy(1) }, '+'),
      h('button', { class: 'secondary', id: 'map-zoom-out', onclick: zoomBy(-1) }, '−'),
      service,
      h('a', { href: '#/sitters' }, 'List'),
    ),
    h('div', { class: 'map' }, svg),
    total,
    h('p', { class: 'muted' }, 'A number is a crowd of sitters; a dot is one sitter (shown near, not at, their home).'),
  );
  await refresh();
}

export const mapPages = { '/map': map };
