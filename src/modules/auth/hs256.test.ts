import { createHmac, createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { verifyHs256 } from './hs256';

const key = createSecretKey(Buffer.from('a test secret that is long enough, 32+ bytes', 'utf8'));
const other = createSecretKey(Buffer.from('another secret, also long enough for HS256!', 'utf8'));
const NOW = 1_800_000_000;
const claims = { sub: '7', sid: 3, jti: 'j-1', iat: NOW - 10, exp: NOW + 890 };

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** A token signed by hand with HMAC-SHA256 whatever its header says. */
const handSigned = (header: unknown, payload: unknown, k = key) => {
  const signed = `${b64(header)}.${b64(payload)}`;
  return `${signed}.${createHmac('sha256', k).update(signed).digest('base64url')}`;
};

describe('verifyHs256', () => {
  it('accepts what jsonwebtoken signs with the key and returns its claims', () => {
    const token = jwt.sign(claims, key, { algorithm: 'HS256' });
    expect(verifyHs256(token, key, NOW)).toEqual(claims);
  });

  it('calls a token expired from its exp second on (as jsonwebtoken), unless told to ignore it', () => {
    const token = jwt.sign(claims, key, { algorithm: 'HS256' });
    expect(verifyHs256(token, key, claims.exp - 1)).toEqual(claims);
    expect(verifyHs256(token, key, claims.exp)).toBe('expired');
    expect(verifyHs256(token, key, claims.exp, true)).toEqual(claims);
  });

  it('refuses another key, even for an expired token (expired is only said of a good signature)', () => {
    expect(verifyHs256(jwt.sign(claims, other, { algorithm: 'HS256' }), key, NOW)).toBe('invalid');
    expect(verifyHs256(jwt.sign(claims, other, { algorithm: 'HS256' }), key, claims.exp + 100)).toBe('invalid');
  });

  it('pins the algorithm: none, HS512, or another alg in a header signed with our HMAC', () => {
    expect(verifyHs256(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, key, NOW)).toBe('invalid');
    expect(verifyHs256(jwt.sign(claims, key, { algorithm: 'HS512' }), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned({ alg: 'HS384', typ: 'JWT' }, claims), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned({ typ: 'JWT' }, claims), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned({ alg: 'HS256' }, claims), key, NOW)).toEqual(claims);
  });

  it('accepts only the exact spelling of the signature', () => {
    const token = jwt.sign(claims, key, { algorithm: 'HS256' });
    const sig = token.slice(token.lastIndexOf('.') + 1);
    const base = token.slice(0, token.lastIndexOf('.') + 1);
    expect(verifyHs256(`${token}=`, key, NOW)).toBe('invalid');
    // The same bytes in standard, padded base64.
    expect(verifyHs256(`${base}${Buffer.from(sig, 'base64url').toString('base64')}`, key, NOW)).toBe('invalid');
    // A character whose low byte equals the expected one's must not pass as it.
    const last = sig.charCodeAt(sig.length - 1);
    expect(verifyHs256(`${base}${sig.slice(0, -1)}${String.fromCharCode(last + 0x100)}`, key, NOW)).toBe('invalid');
    // The payload changed under the same signature.
    const [h, , s] = token.split('.');
    expect(verifyHs256(`${h}.${b64({ ...claims, sub: '8' })}.${s}`, key, NOW)).toBe('invalid');
  });

  it.each([
    ['two segments', (t: string) => t.slice(0, t.lastIndexOf('.'))],
    ['four segments', (t: string) => `${t}.x`],
    ['an empty header', (t: string) => t.slice(t.indexOf('.'))],
    ['garbage', () => 'not.a.jwt'],
    ['nothing', () => ''],
  ])('refuses %s', (_label, make) => {
    expect(verifyHs256(make(jwt.sign(claims, key, { algorithm: 'HS256' })), key, NOW)).toBe('invalid');
  });

  it('refuses a well-signed token whose payload is not an object with a numeric exp, or not valid yet', () => {
    const h = { alg: 'HS256', typ: 'JWT' };
    expect(verifyHs256(handSigned(h, [claims]), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned(h, 'just text'), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned(h, { ...claims, exp: undefined }), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned(h, { ...claims, exp: String(claims.exp) }), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned(h, { ...claims, nbf: NOW + 5 }), key, NOW)).toBe('invalid');
    expect(verifyHs256(handSigned(h, { ...claims, nbf: NOW }), key, NOW)).toEqual({ ...claims, nbf: NOW });
  });
});
