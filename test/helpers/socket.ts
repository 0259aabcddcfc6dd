import { io, type Socket as ClientSocket } from 'socket.io-client';

/**
 * A Socket.io client of the app at `url`, signed in with `token` (undefined: none), over WebSocket,
 * never reconnecting on its own; resolves once connected, rejects with the connect error. `opened`
 * collects it for the test file's afterAll to disconnect.
 */
export function connectSocket(url: string, token: string | undefined, opened: ClientSocket[]): Promise<ClientSocket> {
  const socket = io(url, {
    path: '/socket.io',
    transports: ['websocket'],
    auth: token === undefined ? {} : { token },
    forceNew: true,
    reconnection: false,
    timeout: 5000,
  });
  opened.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** A connected socket (see connectSocket) joined to `roomId`; rejects unless the join is acknowledged ok. */
export async function joinedSocket(
  url: string,
  token: string,
  roomId: number,
  opened: ClientSocket[],
): Promise<ClientSocket> {
  const socket = await connectSocket(url, token, opened);
  const reply = await ack<{ ok: boolean }>(socket, 'room:join', { roomId });
  if (!reply?.ok) throw new Error(`room:join ${roomId} refused: ${JSON.stringify(reply)}`);
  return socket;
}

/** Emits with an acknowledgement, failing after 5 s instead of hanging the test. */
export function ack<T = any>(socket: ClientSocket, event: string, payload?: unknown): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<T>;
}

/** Every payload of `event` received from now on. */
export function record<T = any>(socket: ClientSocket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (p: T) => seen.push(p));
  return seen;
}

/** The next payload of `event` matching `pred`, or a rejection after `timeoutMs`. */
export function next<T = any>(
  socket: ClientSocket,
  event: string,
  pred: (p: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (p: T) => {
      if (!pred(p)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(p);
    };
    socket.on(event, listener);
  });
}
