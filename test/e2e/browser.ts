import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's chromium unless CHROMIUM_PATH names another; `.ci/run` installs it when missing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where failing steps leave screenshots (git-ignored; CI keeps the folder as an artifact). */
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'artifacts', 'e2e');

export function launch(): Promise<Browser> {
  // --no-sandbox: CI runs as root in a container, where chromium's sandbox cannot start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** Runs `fn`; when it throws, screenshots every page (named after the step) before rethrowing. */
export async function step<T>(name: string, pages: Record<string, Page>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const slug = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    for (const [who, page] of Object.entries(pages)) {
      await page
        .screenshot({ path: path.join(ARTIFACTS, `${slug}-${who}.png`), fullPage: true })
        .catch(() => undefined);
    }
    throw err;
  }
}

/** Browser errors fail the test: an uncaught exception in the client is a bug even if the flow passes. */
export function collectErrors(page: Page, into: string[], who: string): void {
  page.on('pageerror', (e) => into.push(`${who}: ${e.message}`));
}

/**
 * A second origin serving the same client files (a front end hosted elsewhere), pointed at the API
 * with `?api=`: every call it makes is cross-origin (CORS preflights, SSE, the Socket.io handshake).
 */
export async function otherOrigin(): Promise<{ origin: string; close(): Promise<void> }> {
  const app = express();
  app.use('/app', express.static(path.resolve(__dirname, '..', '..', 'public', 'app')));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, resolve));
  // `localhost` rather than 127.0.0.1: another host as well as another port.
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
