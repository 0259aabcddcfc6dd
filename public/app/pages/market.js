// The market: used goods near you, selling one, making an offer (which opens a chat with the seller).
import { api, session } from '../api.js';
import { field, form, h, put, select, won } from '../dom.js';
import { go } from '../ui.js';

const HERE = { lat: 37.5665, lng: 126.978 };
const CATEGORIES = ['food', 'toys', 'clothes', 'furniture', 'health', 'other'];

async function nearby(view) {
  const page = await api('GET', '/market/listings/nearby', { query: { ...HERE, radiusKm: 20, limit: 30 } });
  put(
    view,
    h('h2', {}, 'Market near you'),
    page.items.length ? null : h('p', {}, 'Nothing for sale nearby yet.'),
    page.items.map((l) =>
      h(
        'a',
        { class: 'card row', href: `#/market/${l.id}`, dataset: { listingId: l.id } },
        l.photos[0] ? h('img', { class: 'avatar', src: l.photos[0].thumbnailUrl, alt: '' }) : null,
        h('strong', {}, l.title),
        h(
          'span',
          { class: 'muted' },
          `${l.price ? won(l.price) : 'free'} · ${l.distanceKm.toFixed(1)} km · ${l.status}`,
        ),
      ),
    ),
    h('h3', {}, 'Sell something'),
    form(
      [
        field('Title', 'title', { required: true, maxlength: 60 }),
        field('Description', 'description', { type: 'textarea', maxlength: 5000 }),
        select(
          'Category',
          'category',
          CATEGORIES.map((c) => [c]),
        ),
        field('Price (KRW, 0 = free)', 'price', { type: 'number', min: 0, value: 0, required: true }),
        field('Where', 'address', { required: true, value: 'Jung-gu, Seoul' }),
      ],
      'Put on sale',
      async (v) => {
        const body = { ...v, price: Number(v.price), location: HERE };
        go(`/market/${(await api('POST', '/market/listings', { body })).id}`);
      },
      { id: 'new-listing' },
    ),
  );
}

async function listing(view, { id }) {
  const l = await api('GET', `/market/listings/${id}`);
  const mine = l.seller.id === session().user.id;
  put(
    view,
    h('h2', {}, l.title),
    h('p', { class: 'muted' }, `${l.seller.nickname} · ${l.category} · ${l.address} · ${l.status}`),
    h('p', {}, h('strong', {}, l.price ? won(l.price) : 'Free')),
    h('p', {}, l.description),
    h(
      'div',
      { class: 'row' },
      l.photos.map((p) => h('img', { src: p.thumbnailUrl, alt: '', width: 160 })),
    ),
    mine
      ? h('p', { class: 'muted' }, `${l.offerCount} offer(s) so far.`)
      : form([field('Message to the seller', 'message', { maxlength: 500 })], 'Make an offer', async (v) => {
          const offer = await api('POST', `/market/listings/${id}/offers`, { body: v.message ? v : {} });
          go(`/chat/${offer.chatRoomId}`);
        }),
  );
}

export const marketPages = { '/market': nearby, '/market/:id': listing };
