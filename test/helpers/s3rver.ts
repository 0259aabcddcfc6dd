import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3Storage } from '../../src/infra/storage/s3';

// s3rver ships no type declarations; this is the part of its API the tests use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: Record<string, unknown>) => {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
};

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** A real S3-compatible server on a random local port, with one bucket, in a temp directory. */
export class S3rverPeer {
  readonly bucket = 'pawmate-test';
  private server: InstanceType<typeof S3rver> | null = null;
  private dir = '';
  endpoint = '';

  async start(): Promise<this> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-s3rver-'));
    this.server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: this.dir,
      configureBuckets: [{ name: this.bucket }],
    });
    const { port } = await this.server.run();
    this.endpoint = `http://127.0.0.1:${port}`;
    return this;
  }

  storage(): S3Storage {
    return new S3Storage({
      bucket: this.bucket,
      region: 'us-east-1',
      endpoint: this.endpoint,
      credentials: S3RVER_CREDENTIALS,
    });
  }

  async stop(): Promise<void> {
    await this.server?.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
