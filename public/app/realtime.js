// Live connections: the notification stream (Server-Sent Events) and the chat socket (Socket.io).
import { API, API_BASE, refresh, session } from './api.js';

/**
 * Opens the notification stream. EventSource cannot send headers, so the access token goes in the
 * query (`?access_token=`). An open stream outlives its token, but the browser's own reconnect reuses
 * the URL: when that is refused (closed state) for its token, this gets a fresh token and reopens,
 * passing the last id seen so nothing is missed. Returns a function that closes it.
 */
export function openNotificationStream({ onCount, onNotification }) {
  let source = null;
  let lastId = null;
  let stopped = false;
  const open = (token) => {
    const url = new URL(`${API}/notifications/stream`);
    url.searchParams.set('access_token', token);
    if (lastId) url.searchParams.set('lastEventId', lastId);
    source = new EventSource(url);
    source.addEventListener('unread-count', (e) => onCount(JSON.parse(e.data).count));
    source.addEventListener('notification', (e) => {
      lastId = e.lastEventId || lastId;
      onNotification(JSON.parse(e.data));
    });
    source.onerror = async () => {
      if (stopped || source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
      // A closed stream does not say why. Each refresh spends the login's refresh token, so only a token
      // the API refuses is refreshed; a busy or unreachable server gets the same token again (not the
      // stored one, which another tab may be replacing, and which this tab would then refresh too).
      const refused = await fetch(`${API}/users/me`, { headers: { Authorization: `Bearer ${token}` } }).then(
        (res) => res.status === 401,
        () => false,
      );
      const next = refused ? await refresh(token) : token;
      if (next && !stopped) setTimeout(() => open(next), 1000);
    };
  };
  const token = session()?.accessToken;
  if (token) open(token);
  return () => {
    stopped = true;
    source?.close();
  };
}

let socketPromise = null;

/**
 * The one chat socket of this tab. The token is read at every (re)connection; a refusal
 * (`UNAUTHENTICATED`) or `auth:expired` gets a fresh token and connects again. WebSocket only: with
 * several server instances, long-polling would need sticky sessions.
 */
export function chatSocket() {
  socketPromise ??= import(`${API_BASE}/app/vendor/socket.io.esm.min.js`).then(({ io }) => {
    const socket = io(API_BASE, {
      transports: ['websocket'],
      auth: (cb) => cb({ token: session()?.accessToken }),
    });
    const reconnectFresh = async () => {
      if (await refresh(session()?.accessToken)) socket.connect();
    };
    socket.on('connect_error', (err) => {
      if (err.message === 'UNAUTHENTICATED') reconnectFresh();
    });
    socket.on('auth:expired', reconnectFresh);
    socket.on('auth:revoked', () => socket.disconnect());
    return socket;
  });
  return socketPromise;
}

export function closeChatSocket() {
  socketPromise?.then((s) => s.disconnect());
  socketPromise = null;
}

/** Emits with an acknowledgement; rejects with the server's `{ code, message }` when `ok` is false. */
export async function ask(event, payload) {
  const socket = await chatSocket();
  const res = await socket.timeout(10_000).emitWithAck(event, payload);
  if (!res?.ok) throw Object.assign(new Error(res?.message ?? 'refused'), { code: res?.code });
  return res;
}
