// Finding a sitter near a place and booking days with them.
import { api } from '../api.js';
import { day, field, form, h, select, won, put } from '../dom.js';
import { go } from '../ui.js';

const SEOUL_CITY_HALL = { lat: 37.5665, lng: 126.978 };
const SERVICES = ['boarding', 'daycare', 'walking', 'drop_in'];

const avatar = (url) => (url ? h('img', { class: 'avatar', src: url, alt: '' }) : h('span', { class: 'avatar' }));

async function search(view, _params, query) {
  const q = {
    lat: query.get('lat') ?? SEOUL_CITY_HALL.lat,
    lng: query.get('lng') ?? SEOUL_CITY_HALL.lng,
    radiusKm: query.get('radiusKm') ?? 5,
    service: query.get('service') ?? '',
    sort: query.get('sort') ?? 'distance',
  };
  const list = h('div', { id: 'sitter-list' });
  const load = async (cursor) => {
    const page = await api('GET', '/sitters/search', { query: { ...q, cursor, limit: 20 } });
    if (!cursor) list.replaceChildren();
    if (!page.items.length && !cursor) list.append(h('p', {}, 'No sitter within that distance.'));
    for (const s of page.items) {
      list.append(
        h(
          'a',
          { href: `#/sitters/${s.id}`, class: 'card row sitter', dataset: { sitterId: s.id } },
          avatar(s.avatarUrl),
          h(
            'div',
            {},
            h('strong', {}, s.nickname),
            ' — ',
            s.headline,
            h(
              'div',
              { class: 'muted' },
              `${s.distanceKm.toFixed(2)} km · ${s.rating ?? 'no reviews yet'} ★ · from ${won(Math.min(...Object.values(s.prices)))}`,
            ),
          ),
        ),
      );
    }
    if (page.nextCursor)
      list.append(
        h('button', { class: 'secondary', onclick: (e) => (e.target.remove(), load(page.nextCursor)) }, 'More'),
      );
  };
  put(
    view,
    h('h2', {}, 'Sitters near you'),
    form(
      [
        h(
          'div',
          { class: 'row' },
          field('Latitude', 'lat', { value: q.lat, type: 'number', step: 'any' }),
          field('Longitude', 'lng', { value: q.lng, type: 'number', step: 'any' }),
          field('Radius (km)', 'radiusKm', { value: q.radiusKm, type: 'number', min: 1, max: 50 }),
          select('Service', 'service', [['', 'any'], ...SERVICES.map((s) => [s])]),
          select('Sort', 'sort', [['distance'], ['rating'], ['price']]),
        ),
      ],
      'Search',
      (v) => go(`/sitters?${new URLSearchParams(v)}`),
    ),
    list,
  );
  await load();
}

async function sitter(view, { id }) {
  let bookingKey = crypto.randomUUID();
  const [s, pets] = await Promise.all([api('GET', `/sitters/${id}`), api('GET', '/pets')]);
  put(
    view,
    h('div', { class: 'row' }, avatar(s.avatarUrl), h('h2', {}, s.nickname)),
    h('p', {}, h('strong', {}, s.headline)),
    h('p', {}, s.bio),
    h('p', { class: 'muted' }, `${s.address} · up to ${s.maxPets} pets · sizes ${s.acceptedSizes.join(', ')}`),
    h(
      'ul',
      {},
      Object.entries(s.prices).map(([svc, p]) => h('li', {}, `${svc}: ${won(p)} a day`)),
    ),
    h(
      'div',
      { class: 'row' },
      s.photos.map((p) => h('img', { src: p.thumbnailUrl, alt: '', width: 120 })),
    ),
    h('h3', {}, 'Book'),
    pets.items.length
      ? form(
          [
            select(
              'Service',
              'service',
              s.services.map((x) => [x]),
            ),
            h(
              'fieldset',
              {},
              h('legend', {}, 'Pets'),
              pets.items.map((p) =>
                h(
                  'label',
                  { class: 'row' },
                  h('input', { type: 'checkbox', name: `pet-${p.id}`, value: p.id, checked: true }),
                  `${p.name} (${p.size})`,
                ),
              ),
            ),
            field('From', 'startDate', { type: 'date', value: day(1), required: true }),
            field('To', 'endDate', { type: 'date', value: day(2), required: true }),
            field('Note for the sitter', 'note', { maxlength: 500 }),
          ],
          'Request booking',
          async (v) => {
            const petIds = Object.entries(v)
              .filter(([k]) => k.startsWith('pet-'))
              .map(([, val]) => Number(val));
            const body = {
              sitterId: s.id,
              service: v.service,
              petIds,
              startDate: v.startDate,
              endDate: v.endDate,
              ...(v.note ? { note: v.note } : {}),
            };
            // One key per filled-in form: a double click (or a retry after a lost answer) books once.
            try {
              const r = await api('POST', '/reservations', { body, headers: { 'Idempotency-Key': bookingKey } });
              go(`/reservations/${r.id}`);
            } catch (err) {
              bookingKey = crypto.randomUUID(); // refused: a changed form is a new request
              throw err;
            }
          },
          { id: 'book' },
        )
      : h('p', {}, 'Add a pet first: ', h('a', { href: '#/me' }, 'my pets')),
  );
}

export const sitterPages = { '/sitters': search, '/sitters/:id': sitter };
