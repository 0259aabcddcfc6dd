// The shell: hash routes → pages, the navigation with the unread badge, the notification stream.
import { onSessionChange, session } from './api.js';
import { closeChatSocket, openNotificationStream } from './realtime.js';
import { h } from './dom.js';
import { badge, go, notificationListeners, setUnread, toast } from './ui.js';
import { authPages, finishProviderSignIn, signOut } from './pages/auth.js';
import { sitterPages } from './pages/sitters.js';
import { reservationPages } from './pages/reservations.js';
import { chatPages } from './pages/chat.js';
import { notificationPages } from './pages/notifications.js';
import { meetupPages } from './pages/meetups.js';
import { boardPages } from './pages/board.js';
import { mePages } from './pages/me.js';
import { marketPages } from './pages/market.js';
import { groupPages } from './pages/groups.js';
import { mapPages } from './pages/map.js';

/** `pattern` → render(view, params, query). Patterns are paths with `:name` parts. */
const routes = {
  ...authPages,
  ...sitterPages,
  ...reservationPages,
  ...chatPages,
  ...notificationPages,
  ...meetupPages,
  ...boardPages,
  ...mePages,
  ...marketPages,
  ...groupPages,
  ...mapPages,
};
const PUBLIC = new Set(['/login', '/verify-email', '/reset-password', '/forgot-password', '/confirm-email']);

const view = document.getElementById('view');
let leave = null; // the current page's cleanup (sockets, listeners)

function match(path) {
  for (const [pattern, render] of Object.entries(routes)) {
    const names = [];
    const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
    const m = re.exec(path);
    if (m) return { render, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

async function route() {
  const [path, qs] = (location.hash.slice(1) || '/sitters').split('?');
  if (!session() && !PUBLIC.has(path)) return go('/login');
  leave?.();
  leave = null;
  const found = match(path);
  view.replaceChildren();
  if (!found) return view.append(h('p', {}, 'Page not found.'));
  try {
    leave = (await found.render(view, found.params, new URLSearchParams(qs))) ?? null;
  } catch (err) {
    view.append(h('p', { class: 'error' }, err.message));
  }
}

// --- navigation, badge and the notification stream ----------------------------------------------

let closeStream = null;

function renderNav() {
  const nav = document.getElementById('nav');
  const me = session()?.user;
  nav.replaceChildren(
    ...(me
      ? [
          h('a', { href: '#/sitters' }, 'Sitters'),
          h('a', { href: '#/map' }, 'Map'),
          h('a', { href: '#/reservations' }, 'Reservations'),
          h('a', { href: '#/chat' }, 'Chat'),
          h('a', { href: '#/meetups' }, 'Meetups'),
          h('a', { href: '#/board' }, 'Board'),
          h('a', { href: '#/market' }, 'Market'),
          h('a', { href: '#/groups' }, 'Groups'),
          h('a', { href: '#/notifications' }, 'Notifications ', badge),
          h('a', { href: '#/me' }, me.nickname),
          h('button', { class: 'secondary', onclick: signOut }, 'Sign out'),
        ]
      : [h('a', { href: '#/login' }, 'Sign in')]),
  );
}

function connectLive() {
  closeStream?.();
  closeStream = null;
  if (!session()) return;
  closeStream = openNotificationStream({
    onCount: setUnread,
    onNotification: (n) => {
      // The stream sends a fresh count after reads; a new notification is one more unread.
      setUnread(Number(badge.dataset.count) + 1);
      toast(`${n.title}: ${n.body}`);
      for (const fn of notificationListeners) fn(n);
    },
  });
}

onSessionChange((why) => {
  renderNav();
  if (why === 'signed-out') {
    closeStream?.();
    closeStream = null;
    closeChatSocket();
    go('/login');
  } else if (why === 'signed-in') {
    connectLive();
  }
});

window.addEventListener('hashchange', route);
await finishProviderSignIn(); // back from a provider with #code=… (or #error=…)
renderNav();
connectLive();
route();
