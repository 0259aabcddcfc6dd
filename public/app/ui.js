// What pages share with the shell: navigation, toasts, the unread badge, new-notification listeners.
import { h } from './dom.js';

export function go(path) {
  if (location.hash === `#${path}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = path;
}

export function toast(text) {
  const el = h('div', { class: 'toast' }, text);
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), 5000);
}

export const badge = h('span', { class: 'badge', id: 'unread', 'data-count': '0' });

export function setUnread(count) {
  badge.dataset.stream = 'open'; // the stream has answered (tests wait for it)
  badge.textContent = String(count);
  badge.dataset.count = String(count);
}

/** Pages subscribe here to see notifications as they arrive on the stream. */
export const notificationListeners = new Set();
