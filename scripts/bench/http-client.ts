/** Small JSON client for bench setup (not the load generator: loads go through autocannon). */
export class Api {
  constructor(readonly base: string) {}

  async call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T; ms: number }> {
    const started = performance.now();
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T, ms: performance.now() - started };
  }

  async ok<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const r = await this.call<T>(method, path, body, token);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async signup(tag: string): Promise<{ token: string; id: number }> {
    const email = `${tag}.${process.pid}.${Math.random().toString(36).slice(2)}@bench.example`;
    const r = await this.ok<{ accessToken: string; user: { id: number } }>('POST', '/api/v1/auth/signup', {
      email,
      password: 'benchmark password',
      nickname: tag.slice(0, 30).padEnd(2, 'x'),
    });
    return { token: r.accessToken, id: r.user.id };
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
