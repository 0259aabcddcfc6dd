// Notifications: the list (new ones arrive live from the stream the shell keeps open) and reading.
import { api } from '../api.js';
import { h, when, put } from '../dom.js';
import { notificationListeners } from '../ui.js';

/** Where a notification leads (its `data` names the thing). */
function linkOf(n) {
  const d = n.data ?? {};
  if (d.reservationId) return `#/reservations/${d.reservationId}`;
  if (d.roomId) return `#/chat/${d.roomId}`;
  if (d.meetupId) return `#/meetups/${d.meetupId}`;
  if (d.postId) return `#/board/${d.postId}`;
  return null;
}

function item(n) {
  const read = async () => {
    if (!n.readAt) await api('POST', `/notifications/${n.id}/read`); // the stream then sends the new count
    el.classList.add('read');
    const to = linkOf(n);
    if (to) location.hash = to.slice(1);
  };
  const el = h(
    'div',
    { class: `card notification${n.readAt ? ' read' : ''}`, dataset: { type: n.type, notificationId: n.id } },
    h('strong', {}, n.title),
    ' ',
    n.body,
    h('div', { class: 'muted' }, when(n.createdAt)),
    h('button', { class: 'secondary', onclick: read }, n.readAt ? 'Open' : 'Read'),
  );
  return el;
}

async function list(view) {
  const page = await api('GET', '/notifications', { query: { limit: 50 } });
  const box = h('div', { id: 'notifications' }, page.items.map(item));
  put(
    view,
    h('h2', {}, 'Notifications'),
    h(
      'button',
      {
        class: 'secondary',
        onclick: async () => (await api('POST', '/notifications/read-all'), list(view.replaceChildren() || view)),
      },
      'Mark all read',
    ),
    box,
  );
  const onNew = (n) => box.prepend(item(n));
  notificationListeners.add(onNew);
  return () => notificationListeners.delete(onNew);
}

export const notificationPages = { '/notifications': list };
