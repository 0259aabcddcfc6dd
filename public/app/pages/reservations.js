// My reservations, as owner and as sitter, and the moves each party may make.
import { api, session } from '../api.js';
import { h, won, put } from '../dom.js';
import { go } from '../ui.js';

/** Which buttons a party sees for a status (the server refuses anything else with 409 or 403). */
function actionsFor(r, me) {
  const sitter = r.sitter.userId === me;
  const moves = [];
  if (sitter && r.status === 'requested') moves.push(['accept', 'Accept'], ['reject', 'Decline']);
  if (r.status === 'requested' || r.status === 'accepted') moves.push(['cancel', 'Cancel']);
  if (sitter && r.status === 'accepted') moves.push(['complete', 'Mark completed']);
  return moves;
}

function card(r, onChange) {
  const me = session().user.id;
  const other = r.sitter.userId === me ? r.owner.nickname : r.sitter.nickname;
  return h(
    'div',
    { class: 'card reservation', dataset: { reservationId: r.id, status: r.status } },
    h('h3', {}, h('a', { href: `#/reservations/${r.id}` }, `${r.service} with ${other}`)),
    h('p', {}, `${r.startDate} – ${r.endDate} · ${r.pets.map((p) => p.name).join(', ')} · ${won(r.totalPrice)}`),
    h('p', {}, 'Status: ', h('strong', { class: 'status' }, r.status)),
    h(
      'div',
      { class: 'row' },
      actionsFor(r, me).map(([action, label]) =>
        h(
          'button',
          {
            dataset: { action },
            onclick: async () => onChange(await api('POST', `/reservations/${r.id}/${action}`, { body: {} })),
          },
          label,
        ),
      ),
      r.chatRoomId ? h('button', { class: 'secondary', onclick: () => go(`/chat/${r.chatRoomId}`) }, 'Chat') : null,
    ),
  );
}

/** A card that replaces itself with the answer of its action. */
function replaceable(r) {
  const el = card(r, (next) => el.replaceWith(replaceable(next)));
  return el;
}

async function list(view) {
  put(view, h('h2', {}, 'Reservations'));
  for (const role of ['owner', 'sitter']) {
    const page = await api('GET', '/reservations', { query: { role, limit: 50 } });
    if (!page.items.length) continue;
    put(view, h('h3', {}, role === 'owner' ? 'My bookings' : 'Requests to me as a sitter'));
    put(view, ...page.items.map(replaceable));
  }
  if (view.children.length === 1)
    put(view, h('p', {}, 'Nothing yet. ', h('a', { href: '#/sitters' }, 'Find a sitter')));
}

async function one(view, { id }) {
  put(view, h('h2', {}, 'Reservation'), replaceable(await api('GET', `/reservations/${id}`)));
}

export const reservationPages = { '/reservations': list, '/reservations/:id': one };
