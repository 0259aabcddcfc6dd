import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/faults';

/**
 * A private MariaDB primary and replica for tests: two `mariadbd` processes on loopback ports, each
 * with its own data directory made by `mariadb-install-db`, the primary writing a binary log
 * (`--server-id=1 --log-bin`), the replica (`--server-id=2 --read-only`) following it from the start
 * with `CHANGE MASTER TO … MASTER_USE_GTID=slave_pos`. root has no password on either (loopback only).
 * `stop()` ends both processes (by pid) and removes the directories.
 */
export interface DbServer {
  port: number;
  dir: string;
  process: ChildProcess | null;
}

export class MariaDbReplicaPair {
  primary!: DbServer;
  replica!: DbServer;
  private root = '';

  /** Starts both servers and replication; a failed start stops whatever it had started. */
  async start(): Promise<this> {
    try {
      this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-mariadb-pair-'));
      this.primary = await this.server('primary');
      this.replica = await this.server('replica');
      await Promise.all([
        this.run(this.primary, ['--server-id=1', '--log-bin=mysql-bin', '--binlog-format=ROW']),
        this.run(this.replica, ['--server-id=2', '--read-only=1', '--relay-log=relay-bin']),
      ]);
      this.sql(
        this.replica,
        `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${this.primary.port}, MASTER_USER='root', ` +
          `MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;`,
      );
      await this.waitReplicating();
      return this;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** `mysql://root@127.0.0.1:<port>/<db>` of a server. */
  url(server: DbServer, db: string): string {
    return `mysql://root@127.0.0.1:${server.port}/${db}`;
  }

  private async server(name: string): Promise<DbServer> {
    const dir = path.join(this.root, name);
    fs.mkdirSync(dir);
    const init = spawnSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        `--datadir=${path.join(dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        `--user=${os.userInfo().username}`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stdout}${init.stderr}`);
    return { port: await freePort(), dir, process: null };
  }

  /** Starts (or restarts) a server with its own flags; resolves once it answers. */
  async run(server: DbServer, flags: string[] = []): Promise<void> {
    const child = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${path.join(server.dir, 'data')}`,
        `--socket=${path.join(server.dir, 'mysqld.sock')}`,
        `--pid-file=${path.join(server.dir, 'mysqld.pid')}`,
        `--log-error=${path.join(server.dir, 'error.log')}`,
        '--bind-address=127.0.0.1',
        `--port=${server.port}`,
        `--user=${os.userInfo().username}`,
        '--skip-name-resolve=0',
        '--innodb-buffer-pool-size=32M',
        '--innodb-log-file-size=16M',
        '--max-connections=200',
        '--performance-schema=0',
        ...flags,
      ],
      { stdio: 'ignore' },
    );
    server.process = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ping = spawnSync('mariadb-admin', ['--protocol=tcp', '-h127.0.0.1', `-P${server.port}`, '-uroot', 'ping'], {
        encoding: 'utf8',
        timeout: 5000,
      });
      if (ping.status === 0) return;
      if (child.exitCode !== null) throw new Error(`mariadbd on ${server.port} exited: ${this.errorLog(server)}`);
      if (Date.now() > deadline) throw new Error(`mariadbd on ${server.port} did not start`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  errorLog(server: DbServer): string {
    try {
      return fs.readFileSync(path.join(server.dir, 'error.log'), 'utf8').slice(-2000);
    } catch {
      return '';
    }
  }

  /** Runs SQL through the `mariadb` client; returns its tab-separated output. */
  sql(server: DbServer, statements: string): string {
    const r = spawnSync(
      'mariadb',
      ['--protocol=tcp', '-h127.0.0.1', `-P${server.port}`, '-uroot', '-N', '-B', '-e', statements],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0) throw new Error(`SQL on ${server.port} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** SHOW REPLICA STATUS as a record. */
  replicaStatus(): Record<string, string> {
    const r = spawnSync(
      'mariadb',
      ['--protocol=tcp', '-h127.0.0.1', `-P${this.replica.port}`, '-uroot', '-E', '-e', 'SHOW REPLICA STATUS'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    const out: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const m = /^\s*(\w+): (.*)$/.exec(line);
      if (m) out[m[1]] = m[2];
    }
    return out;
  }

  /** Until the replica has applied everything the primary has written (its GTID position). */
  async waitCaughtUp(timeoutMs = 30_000): Promise<void> {
    const pos = this.sql(this.primary, 'SELECT @@gtid_binlog_pos').trim();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.sql(this.replica, 'SELECT @@gtid_slave_pos').trim() === pos) return;
      if (Date.now() > deadline)
        throw new Error(`replica did not catch up with ${pos}: ${JSON.stringify(this.replicaStatus())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private async waitReplicating(): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = this.replicaStatus();
      if (s.Slave_IO_Running === 'Yes' && s.Slave_SQL_Running === 'Yes') return;
      if (Date.now() > deadline) throw new Error(`replication did not start: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ends a server at once (SIGKILL). */
  async kill(server: DbServer): Promise<void> {
    const child = server.process;
    server.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary, this.replica].filter(Boolean).map((s) => this.kill(s)));
    if (this.root) fs.rmSync(this.root, { recursive: true, force: true });
  }
}
