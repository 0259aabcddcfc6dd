import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

/** The certified `oidc-provider` in a child process (see oidc-provider.mjs). */
export class OidcProviderProcess {
  issuer = '';
  private child!: ChildProcess;

  async start(clients: object[]): Promise<this> {
    this.child = spawn(process.execPath, [path.join(__dirname, 'oidc-provider.mjs'), JSON.stringify({ clients })], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.issuer = await new Promise<string>((resolve, reject) => {
      let out = '';
      this.child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line).issuer);
      });
      this.child.once('exit', (code) => reject(new Error(`oidc-provider exited with ${code}`)));
    });
    return this;
  }

  /** Registers a person the interaction can sign in (`claims`: email, email_verified, name, …). */
  async addAccount(sub: string, claims: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.issuer}/test/accounts`, { method: 'POST', body: JSON.stringify({ sub, claims }) });
    if (res.status !== 204) throw new Error(`addAccount: ${res.status}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

export interface NaverPerson {
  id: string;
  email?: string;
  nickname?: string;
}

/** Naver's authorize, token and profile endpoints, as small as the flow needs. */
export class FakeNaver {
  url = '';
  /** Who signs in at the next authorization; `null` declines. */
  next: NaverPerson | null = null;
  /** When set, the token endpoint answers 503. */
  down = false;
  readonly clientId = 'naver-client';
  readonly clientSecret = 'naver-secret';
  private readonly codes = new Map<string, { person: NaverPerson; challenge: string; redirectUri: string }>();
  private readonly tokens = new Map<string, NaverPerson>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<this> {
    this.url = await listen(this.server);
    return this;
  }

  env(): Record<string, string> {
    return {
      OAUTH_NAVER_CLIENT_ID: this.clientId,
      OAUTH_NAVER_CLIENT_SECRET: this.clientSecret,
      OAUTH_NAVER_AUTHORIZATION_URL: `${this.url}/oauth2.0/authorize`,
      OAUTH_NAVER_TOKEN_URL: `${this.url}/oauth2.0/token`,
      OAUTH_NAVER_PROFILE_URL: `${this.url}/v1/nid/me`,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url!, this.url);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/oauth2.0/authorize') {
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      if (!this.next) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = b64url(randomBytes(12));
        this.codes.set(code, {
          person: this.next,
          challenge: url.searchParams.get('code_challenge') ?? '',
          redirectUri: back.origin + back.pathname,
        });
        back.searchParams.set('code', code);
      }
      return res.writeHead(302, { Location: back.href }).end();
    }
    if (url.pathname === '/oauth2.0/token' && req.method === 'POST') {
      if (this.down) return json(503, { error: 'server_error' });
      const form = new URLSearchParams(await readBody(req));
      const grant = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const pkceOk = grant && createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      if (
        form.get('client_id') !== this.clientId ||
        form.get('client_secret') !== this.clientSecret ||
        form.get('grant_type') !== 'authorization_code' ||
        !grant ||
        !pkceOk ||
        form.get('redirect_uri') !== grant.redirectUri
      ) {
        return json(400, { error: 'invalid_grant', error_description: 'bad code' });
      }
      const accessToken = b64url(randomBytes(16));
      this.tokens.set(accessToken, grant.person);
      // Naver sends expires_in as a string.
      return json(200, { access_token: accessToken, refresh_token: 'r', token_type: 'bearer', expires_in: '3600' });
    }
    if (url.pathname === '/v1/nid/me') {
      const person = this.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
      if (!person) return json(401, { resultcode: '024', message: 'Authentication failed' });
      return json(200, { resultcode: '00', message: 'success', response: person });
    }
    json(404, {});
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export type RogueMode = 'other-issuer' | 'other-audience' | 'bad-signature' | 'expired' | 'wrong-nonce';

/**
 * An OpenID Connect provider that signs ID tokens it should not: another issuer, another audience,
 * a key not in its JWKS, expired, another nonce. Everything else about it is well-formed.
 */
export class RogueIssuer {
  url = '';
  mode: RogueMode = 'other-issuer';
  readonly clientId = 'rogue-client';
  private readonly key = generateKeyPairSync('rsa', { modulusLength: 2048 });
  private readonly strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  private readonly pending = new Map<string, { nonce: string }>();
  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  async start(): Promise<this> {
    this.url = await listen(this.server);
    return this;
  }

  private idToken(nonce: string): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: this.mode === 'other-issuer' ? 'https://accounts.example.com' : this.url,
      aud: this.mode === 'other-audience' ? 'someone-else' : this.clientId,
      sub: 'rogue-subject',
      email: 'victim@example.com',
      email_verified: true,
      nonce: this.mode === 'wrong-nonce' ? 'not-the-nonce' : nonce,
      iat: this.mode === 'expired' ? now - 7200 : now,
      exp: this.mode === 'expired' ? now - 3600 : now + 300,
    };
    const signingKey: KeyObject = this.mode === 'bad-signature' ? this.strangerKey : this.key.privateKey;
    const input = `${b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), signingKey))}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url!, this.url);
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        return json(200, {
          issuer: this.url,
          authorization_endpoint: `${this.url}/authorize`,
          token_endpoint: `${this.url}/token`,
          jwks_uri: `${this.url}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        });
      case '/jwks':
        return json(200, {
          keys: [{ ...this.key.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
        });
      case '/authorize': {
        const code = b64url(randomBytes(12));
        this.pending.set(code, { nonce: url.searchParams.get('nonce') ?? '' });
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', code);
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        return res.writeHead(302, { Location: back.href }).end();
      }
      case '/token': {
        const form = new URLSearchParams(await readBody(req));
        const grant = this.pending.get(form.get('code') ?? '');
        if (!grant) return json(400, { error: 'invalid_grant' });
        return json(200, {
          access_token: 'at',
          token_type: 'Bearer',
          expires_in: 60,
          id_token: this.idToken(grant.nonce),
        });
      }
      default:
        return json(404, {});
    }
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A browser as far as redirects and cookies go: follows nothing by itself, keeps cookies per host. */
export class Browser {
  private readonly jar = new Map<string, Map<string, string>>();

  async get(url: string): Promise<{ status: number; location: string | null; body: string }> {
    const host = new URL(url).host;
    const cookies = [...(this.jar.get(host) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookies ? { cookie: cookies } : {} });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const jar = this.jar.get(host) ?? new Map<string, string>();
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
      this.jar.set(host, jar);
    }
    const location = res.headers.get('location');
    return { status: res.status, location: location ? new URL(location, url).href : null, body: await res.text() };
  }
}
