// A real OpenID Connect provider for the sign-in tests: the certified `oidc-provider` package on a
// loopback port, in a child process because it is an ES module (Jest runs our tests as CommonJS).
// argv[2]: JSON `{ clients: [...] }`. Prints `{"issuer": "..."}` once it listens.
// Test-only routes: POST /test/accounts `{ sub, claims }` registers a person; GET /interaction/:uid
// `?sub=` signs that person in, `?deny=1` declines (access_denied), and without either shows a sign-in
// page whose form sends one of them (what a person in a browser meets). Consent is implied.
/* global process, console, URL */
import http from 'node:http';
import Provider from 'oidc-provider';

const { clients } = JSON.parse(process.argv[2]);
const accounts = new Map();
const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  // Google's scope names, and Kakao's (`account_email`, `profile_nickname`) for the same claims.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'nickname'],
    account_email: ['email', 'email_verified'],
    profile_nickname: ['nickname'],
  },
  findAccount: (_ctx, sub) =>
    accounts.has(sub) ? { accountId: sub, claims: () => ({ sub, ...accounts.get(sub) }) } : undefined,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  cookies: { keys: ['oidc-test-cookie-key'] },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Consent is not what these tests are about: every requested scope is granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});
const callback = provider.callback();

const SIGN_IN_PAGE = `<!doctype html><title>Test provider</title>
<form id="provider-sign-in" method="get">
  <label>Account <input name="sub" required></label>
  <button type="submit">Sign in</button>
</form>
<form id="provider-decline" method="get"><input type="hidden" name="deny" value="1"><button>Decline</button></form>`;

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (req.method === 'POST' && url.pathname === '/test/accounts') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const { sub, claims } = JSON.parse(body);
      accounts.set(sub, claims);
      res.writeHead(204).end();
      return;
    }
    const interaction = /^\/interaction\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && interaction) {
      await provider.interactionDetails(req, res);
      if (!url.searchParams.has('sub') && !url.searchParams.has('deny')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(SIGN_IN_PAGE);
        return;
      }
      const result = url.searchParams.get('deny')
        ? { error: 'access_denied', error_description: 'The person declined' }
        : { login: { accountId: url.searchParams.get('sub') } };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
      return;
    }
    callback(req, res);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
  }
});

console.log(JSON.stringify({ issuer }));
