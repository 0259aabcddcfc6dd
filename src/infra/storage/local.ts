import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import type { Storage } from './storage';
import { KeyUrls, assertValidKey } from './keys';

/** Files under one directory, served by the app itself at `${publicUrl}/uploads/<key>`. */
export class LocalStorage implements Storage {
  readonly driver = 'local' as const;
  readonly dir: string;
  private readonly base: string;
  private readonly urls: KeyUrls;

  constructor(dir: string, publicUrl: string) {
    this.dir = path.resolve(dir);
    this.base = `${publicUrl.replace(/\/+$/, '')}/uploads/`;
    this.urls = new KeyUrls(this.base);
  }

  async put(key: string, body: Buffer, _contentType: string): Promise<string> {
    const file = this.fileFor(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a reader (the static handler) never sees a half-written image.
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, body, { flag: 'wx' });
      await fs.rename(tmp, file);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return this.urlFor(key);
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.fileFor(key), { force: true });
  }

  urlFor(key: string): string {
    return this.urls.urlFor(key);
  }

  keyFromUrl(url: string): string | null {
    return this.urls.keyFromUrl(url);
  }

  /** Absolute path of a key; the key pattern already excludes `..`, the prefix check is belt and braces. */
  fileFor(key: string): string {
    assertValidKey(key);
    const file = path.resolve(this.dir, key);
    if (!file.startsWith(this.dir + path.sep)) throw new Error('storage key escapes the upload directory');
    return file;
  }
}

/**
 * Static handler for `/uploads`. Keys are random and never rewritten (a replacement gets a new key),
 * so responses may be cached for a year as immutable. Helmet's default Cross-Origin-Resource-Policy
 * (same-origin) would stop web clients on another origin from showing the images, hence `cross-origin`.
 */
export function serveUploads(storage: LocalStorage): RequestHandler {
  return express.static(storage.dir, {
    index: false,
    dotfiles: 'deny',
    redirect: false,
    immutable: true,
    maxAge: '365d',
    setHeaders: (res) => {
      res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
    },
  });
}
