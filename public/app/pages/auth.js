// Signing in and out, provider sign-in (PKCE), and the pages e-mail links open.
import { api, API, session, signedIn, signOutLocally } from '../api.js';
import { field, form, h, put } from '../dom.js';
import { go, toast } from '../ui.js';

const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** Where providers send the browser back: this page, exactly (the server's OAUTH_REDIRECT_URIS). */
const returnUri = () => `${location.origin}${location.pathname}`;

async function startProviderSignIn(provider) {
  // PKCE: only this tab, holding the verifier, can exchange the one-time code the server hands back.
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('pawmate.pkce', verifier);
  const url = new URL(`${API}/auth/oauth/${encodeURIComponent(provider)}/start`);
  url.searchParams.set('redirectUri', returnUri());
  url.searchParams.set('codeChallenge', challenge);
  location.assign(url);
}

/** Back from a provider: `#code=…` is exchanged for tokens, `#error=…` is shown. */
export async function finishProviderSignIn() {
  const back = new URLSearchParams(location.hash.slice(1));
  if (!back.has('code') && !back.has('error')) return;
  history.replaceState(null, '', returnUri()); // the code is single use; keep it out of history
  if (back.has('error')) return toast(`Sign-in failed: ${back.get('error')}`);
  const codeVerifier = sessionStorage.getItem('pawmate.pkce') ?? undefined;
  sessionStorage.removeItem('pawmate.pkce');
  try {
    signedIn(await api('POST', '/auth/oauth/exchange', { body: { code: back.get('code'), codeVerifier } }));
    location.hash = '/sitters';
  } catch (err) {
    toast(`Sign-in failed: ${err.message}`);
  }
}

export async function signOut() {
  const s = session();
  // The server ends this login at once (its access token too); this tab and the others forget it.
  if (s) await api('POST', '/auth/logout', { body: { refreshToken: s.refreshToken } }).catch(() => undefined);
  signOutLocally();
}

/** Sign-in and sign-up; `?email=` (from an invitation mail) fills in the sign-up address. */
async function login(view, _params, query) {
  const providers = await api('GET', '/auth/oauth/providers').catch(() => ({ items: [] }));
  put(
    view,
    h('h2', {}, 'Sign in'),
    form(
      [
        field('E-mail', 'email', { type: 'email', required: true, autocomplete: 'email' }),
        field('Password', 'password', { type: 'password', required: true, autocomplete: 'current-password' }),
      ],
      'Sign in',
      async (v) => {
        signedIn(await api('POST', '/auth/login', { body: v }));
        go('/sitters');
      },
      { id: 'login' },
    ),
    providers.items.length
      ? h(
          'div',
          { class: 'row' },
          providers.items.map((p) =>
            h(
              'button',
              { class: 'secondary', dataset: { provider: p.name }, onclick: () => startProviderSignIn(p.name) },
              `Continue with ${p.displayName}`,
            ),
          ),
        )
      : null,
    h('p', {}, h('a', { href: '#/forgot-password' }, 'Forgot your password?')),
    h('h2', {}, 'New here? Create an account'),
    form(
      [
        field('Nickname', 'nickname', { required: true, minlength: 2, maxlength: 30 }),
        field('E-mail', 'email', { type: 'email', required: true, value: query.get('email') ?? undefined }),
        field('Password (8+ characters)', 'password', {
          type: 'password',
          required: true,
          minlength: 8,
          autocomplete: 'new-password',
        }),
      ],
      'Sign up',
      async (v) => {
        signedIn(await api('POST', '/auth/signup', { body: v }));
        toast('Welcome! Check your e-mail for the verification link.');
        go('/sitters');
      },
      { id: 'signup' },
    ),
  );
}

/** Opened from the verification mail (`/verify-email?token=…` redirects here). */
async function verifyEmail(view, _params, query) {
  put(view, h('h2', {}, 'Verifying your e-mail…'));
  try {
    await api('POST', '/auth/verify-email', { body: { token: query.get('token') ?? '' } });
    view.replaceChildren(h('h2', {}, 'Your e-mail is verified'), h('p', {}, h('a', { href: '#/sitters' }, 'Continue')));
  } catch (err) {
    view.replaceChildren(h('h2', {}, 'This link does not work'), h('p', { class: 'error' }, err.message));
  }
}

async function confirmEmail(view, _params, query) {
  try {
    await api('POST', '/auth/email/confirm', { body: { token: query.get('token') ?? '' } });
    put(view, h('h2', {}, 'Your new e-mail address is confirmed'));
  } catch (err) {
    put(view, h('h2', {}, 'This link does not work'), h('p', { class: 'error' }, err.message));
  }
}

function forgotPassword(view) {
  put(
    view,
    h('h2', {}, 'Reset your password'),
    form([field('E-mail', 'email', { type: 'email', required: true })], 'Send me a link', async (v, el) => {
      await api('POST', '/auth/password/forgot', { body: v });
      el.replaceWith(h('p', {}, 'If an account uses that address, a reset link is on its way.'));
    }),
  );
}

/** Opened from the reset mail (`/reset-password?token=…` redirects here). */
function resetPassword(view, _params, query) {
  put(
    view,
    h('h2', {}, 'Choose a new password'),
    form(
      [
        field('New password', 'password', {
          type: 'password',
          required: true,
          minlength: 8,
          autocomplete: 'new-password',
        }),
      ],
      'Save',
      async (v) => {
        await api('POST', '/auth/password/reset', { body: { token: query.get('token') ?? '', password: v.password } });
        signOutLocally(); // every login of the account has ended
        toast('Password changed; sign in with the new one.');
      },
    ),
  );
}

export const authPages = {
  '/login': login,
  '/verify-email': verifyEmail,
  '/confirm-email': confirmEmail,
  '/forgot-password': forgotPassword,
  '/reset-password': resetPassword,
};
