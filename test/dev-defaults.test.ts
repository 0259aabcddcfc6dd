import cors from 'cors';
import express from 'express';
import request from 'supertest';
import { loadConfig } from '../src/config';
import { readableMail } from '../src/infra/mail/mailer';
import { templates } from '../src/infra/mail/templates';
import { TestContext, signup, type TestInstance } from './helpers/context';
import { SmtpPeer, linkToken } from './helpers/smtp';
import { eventually } from './helpers/faults';

/** Development defaults that keep a new front-end developer out of trouble, and APP_URL in mails. */
const base = { DATABASE_URL: 'mysql://root@127.0.0.1:3306/x', REDIS_URL: 'redis://127.0.0.1:6379/0' };
const secret = { JWT_SECRET: 'x'.repeat(40) };

/** What the app's own CORS middleware answers to a request from `origin`. */
async function allowed(origins: Array<string | RegExp>, origin: string): Promise<boolean> {
  const app = express().use(cors({ origin: origins.length ? origins : false }));
  app.get('/', (_req, res) => res.end());
  const res = await request(app).get('/').set('Origin', origin);
  return res.headers['access-control-allow-origin'] === origin;
}

describe('CORS_ORIGINS', () => {
  it('allows local front ends on any port by default in development, and nothing else', async () => {
    const { corsOrigins } = loadConfig({ ...base, ...secret, NODE_ENV: 'development' });
    for (const ok of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://localhost', 'http://[::1]:8080']) {
      expect(await allowed(corsOrigins, ok)).toBe(true);
    }
    for (const no of [
      'http://localhost.evil.com',
      'http://evil.com',
      'https://localhost:5173',
      'http://10.0.0.5:3000',
    ]) {
      expect(await allowed(corsOrigins, no)).toBe(false);
    }
  });

  it('has no default outside development, and a set value replaces the default', async () => {
    expect(loadConfig({ ...base, ...secret, NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) }).corsOrigins).toEqual(
      [],
    );
    expect(loadConfig({ ...base, ...secret, NODE_ENV: 'test' }).corsOrigins).toEqual([]);
    const set = loadConfig({ ...base, ...secret, CORS_ORIGINS: 'https://app.example.com, http://localhost:*' });
    expect(await allowed(set.corsOrigins, 'https://app.example.com')).toBe(true);
    expect(await allowed(set.corsOrigins, 'http://localhost:4200')).toBe(true);
    expect(await allowed(set.corsOrigins, 'http://127.0.0.1:4200')).toBe(false);
  });
});

describe('APP_URL', () => {
  const smtp = new SmtpPeer();
  let ctx: TestContext;
  let api: TestInstance;
  beforeAll(async () => {
    await smtp.start();
    ctx = await new TestContext({ smtpUrl: smtp.url, env: { APP_URL: 'https://app.pawmate.test/' } }).setup();
    api = await ctx.instance();
  });
  afterAll(async () => {
    await ctx.close();
    await smtp.stop();
  });

  it('defaults to PUBLIC_URL', () => {
    expect(loadConfig({ ...base, ...secret, PUBLIC_URL: 'http://api.example.com/' }).appUrl).toBe(
      'http://api.example.com',
    );
  });

  it('is the base of the links in mails, while PUBLIC_URL stays the API’s', async () => {
    const s = await signup(api);
    await eventually(async () => smtp.mails.some((m) => m.to.includes(s.email)), 10_000, 'verification mail');
    const mail = smtp.mails.find((m) => m.to.includes(s.email))!;
    expect(linkToken(mail.raw, 'https://app\\.pawmate\\.test/verify-email')).toMatch(/^[\w-]{20,}$/);
    expect(mail.raw).not.toContain('http://pawmate.test');
    const openapi = await api.http.get('/openapi.json').expect(200);
    expect(JSON.stringify(openapi.body.servers)).not.toContain('app.pawmate.test');
  });
});

describe('mails in development without SMTP', () => {
  it('print as a readable block with the link on its own line', () => {
    const link = 'http://localhost:3000/verify-email?token=abc123';
    const block = readableMail(templates.verifyEmail('minji@example.com', 'Minji', link));
    const lines = block.split('\n');
    expect(lines).toContain('To:      minji@example.com');
    expect(lines).toContain('Subject: Confirm your Pawmate e-mail');
    expect(lines.slice(lines.indexOf('Links:'))).toContain(`  ${link}`);
    expect(block).not.toMatch(/<[a-z]+[ >]/); // the text part, not the HTML
  });
});
