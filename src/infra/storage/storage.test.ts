import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3rverPeer } from '../../../test/helpers/s3rver';
import { createStorage, LocalStorage, S3Storage } from './index';
import { isValidKey, newKey } from './keys';

describe('keys', () => {
  it('are random, in their folder, and refuse anything a client could smuggle in', () => {
    const a = newKey('avatars/12', 'webp');
    const b = newKey('avatars/12', 'webp');
    expect(a).toMatch(/^avatars\/12\/[a-f0-9]{32}\.webp$/);
    expect(a).not.toBe(b);
    expect(newKey('sitters/3', 'webp', 'thumb')).toMatch(/^sitters\/3\/[a-f0-9]{32}-thumb\.webp$/);
    for (const bad of [
      '../etc/passwd',
      '/abs/0123456789abcdef0123456789abcdef.webp',
      'a/../0123456789abcdef0123456789abcdef.webp',
      'a/b.webp',
      '',
    ]) {
      expect(isValidKey(bad)).toBe(false);
    }
    expect(() => newKey('../up', 'webp')).toThrow();
  });
});

describe('local driver', () => {
  let dir: string;
  let storage: LocalStorage;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-local-'));
    storage = new LocalStorage(dir, 'https://cdn.example.com/');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the file under the key, answers its public URL, and deletes it (twice is fine)', async () => {
    const key = newKey('pets/1', 'webp');
    const url = await storage.put(key, Buffer.from('bytes'), 'image/webp');
    expect(url).toBe(`https://cdn.example.com/uploads/${key}`);
    expect(storage.urlFor(key)).toBe(url);
    expect(fs.readFileSync(path.join(dir, key), 'utf8')).toBe('bytes');
    // No temp file is left next to it.
    expect(fs.readdirSync(path.dirname(path.join(dir, key)))).toEqual([path.basename(key)]);
    expect(storage.keyFromUrl(url)).toBe(key);
    await storage.delete(key);
    expect(fs.existsSync(path.join(dir, key))).toBe(false);
    await expect(storage.delete(key)).resolves.toBeUndefined();
  });

  it('does not claim foreign URLs and refuses keys that escape the directory', async () => {
    expect(
      storage.keyFromUrl('https://elsewhere.example.com/uploads/pets/1/0123456789abcdef0123456789abcdef.webp'),
    ).toBeNull();
    expect(storage.keyFromUrl('https://cdn.example.com/uploads/../../etc/passwd')).toBeNull();
    await expect(storage.put('../escape.webp', Buffer.from('x'), 'image/webp')).rejects.toThrow(/invalid storage key/);
    await expect(storage.delete('../../etc/passwd')).rejects.toThrow(/invalid storage key/);
  });

  it('is what createStorage builds by default', () => {
    const s = createStorage({
      storageDriver: 'local',
      uploadDir: dir,
      publicUrl: 'http://x.test',
      s3: { bucket: null, endpoint: null, region: 'us-east-1' },
    });
    expect(s).toBeInstanceOf(LocalStorage);
    expect(s.driver).toBe('local');
  });
});

describe('s3 driver against a real s3rver', () => {
  const s3 = new S3rverPeer();
  let storage: S3Storage;
  beforeAll(async () => {
    await s3.start();
    storage = s3.storage();
  });
  afterAll(async () => {
    storage.close();
    await s3.stop();
  });

  it('puts an object that is readable over HTTP at its path-style URL, then deletes it', async () => {
    const key = newKey('avatars/7', 'webp');
    const body = Buffer.from('RIFF....WEBPVP8 fake but opaque bytes');
    const url = await storage.put(key, body, 'image/webp');
    expect(url).toBe(`${s3.endpoint}/${s3.bucket}/${key}`);
    expect(storage.keyFromUrl(url)).toBe(key);

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/webp');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);

    await storage.delete(key);
    expect((await fetch(url)).status).toBe(404);
    // Deleting a missing key is not an error.
    await expect(storage.delete(key)).resolves.toBeUndefined();
  });

  it('fails (for the caller to map to 503) when the bucket does not exist', async () => {
    const other = new S3Storage({
      bucket: 'no-such-bucket',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await expect(other.put(newKey('x', 'webp'), Buffer.from('x'), 'image/webp')).rejects.toThrow();
    other.close();
  });

  it('builds virtual-hosted AWS URLs when no endpoint is set', () => {
    const aws = createStorage({
      storageDriver: 's3',
      uploadDir: '',
      publicUrl: 'http://x.test',
      s3: { bucket: 'pawmate-prod', endpoint: null, region: 'ap-northeast-2' },
    });
    expect(aws.driver).toBe('s3');
    const key = newKey('pets/1', 'webp');
    expect(aws.urlFor(key)).toBe(`https://pawmate-prod.s3.ap-northeast-2.amazonaws.com/${key}`);
    expect(aws.keyFromUrl(aws.urlFor(key))).toBe(key);
    (aws as S3Storage).close();
  });
});
