// The API client every page uses: one fetch wrapper, the tokens, and the refresh flow.
//
// Tokens live in localStorage, so every tab of this origin shares one login. A refresh token is
// single use, and presenting a spent one revokes the whole login: two tabs that both noticed an
// expired access token must not both spend the same refresh token. So a refresh runs under a Web
// Lock shared by every tab (navigator.locks), and inside it first re-reads the tokens: when another
// tab has refreshed meanwhile, the new access token is used as it is. Tabs hear about new tokens and
// sign-outs over a BroadcastChannel (and the storage event, for browsers without one).

const params = new URLSearchParams(location.search);
// `?api=https://api.example.com` runs this client against another origin (CORS); kept for the tab.
if (params.get('api')) sessionStorage.setItem('pawmate.api', params.get('api'));
export const API_BASE = (sessionStorage.getItem('pawmate.api') || location.origin).replace(/\/+$/, '');
export const API = `${API_BASE}/api/v1`;

const KEY = 'pawmate.session';
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('pawmate') : null;
const listeners = new Set();

/** `{ user, accessToken, refreshToken }` or null. */
export function session() {
  try {
    return JSON.parse(localStorage.getItem(KEY));
  } catch {
    return null;
  }
}

function save(next, why) {
  if (next) localStorage.setItem(KEY, JSON.stringify(next));
  else localStorage.removeItem(KEY);
  channel?.postMessage(why);
  for (const fn of listeners) fn(why);
}

/** Called with 'signed-in' | 'refreshed' | 'signed-out', from this tab or another. */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
channel?.addEventListener('message', (e) => listeners.forEach((fn) => fn(e.data)));
window.addEventListener('storage', (e) => {
  if (e.key === KEY && !channel) listeners.forEach((fn) => fn(e.newValue ? 'refreshed' : 'signed-out'));
});

export function signedIn(answer) {
  save({ user: answer.user, accessToken: answer.accessToken, refreshToken: answer.refreshToken }, 'signed-in');
}

export function signOutLocally() {
  save(null, 'signed-out');
}

/** A problem+json answer as an Error: `.status`, `.code`, `.detail`, `.errors`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    Object.assign(this, { status, code: problem?.code, errors: problem?.errors ?? [] });
  }
}

const withLock = (fn) => (navigator.locks ? navigator.locks.request('pawmate-refresh', fn) : fn()); // no Web Locks: best effort

/**
 * Gets a fresh access token. `stale` is the one that failed: if the stored token differs, some tab
 * already refreshed and nothing is spent. Resolves to the token, or null when the login is over.
 */
export function refresh(stale = session()?.accessToken) {
  return withLock(async () => {
    const current = session();
    if (!current) return null;
    if (current.accessToken !== stale) return current.accessToken;
    const res = await fetch(`${API}/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refreshToken: current.refreshToken }),
    });
    if (!res.ok) {
      // 401: spent, expired or revoked; the login is over in every tab.
      if (res.status === 401) save(null, 'signed-out');
      return null;
    }
    const tokens = await res.json();
    save({ ...current, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }, 'refreshed');
    return tokens.accessToken;
  });
}

/**
 * `api('GET', '/sitters/search', { query })`, `api('POST', '/pets', { body })`. A 401 with a token
 * refreshes once and retries; any other failure throws ApiError. 204 resolves to null.
 */
export async function api(method, path, { body, query, form, headers = {} } = {}) {
  const url = new URL(API + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, v);
  const send = (token) =>
    fetch(url, {
      method,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: form ?? (body !== undefined ? JSON.stringify(body) : undefined),
    });
  const token = session()?.accessToken;
  let res = await send(token);
  if (res.status === 401 && token) {
    const fresh = await refresh(token);
    if (fresh) res = await send(fresh);
  }
  if (res.status === 204) return null;
  const data = res.headers.get('content-type')?.includes('json') ? await res.json() : await res.text();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}
