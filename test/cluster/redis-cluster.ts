import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A private Redis Cluster on loopback ports for tests: `masters` × `redis-server --cluster-enabled
 * yes` (plus `replicasPerMaster` replicas each), every node in its own temporary directory, joined by
 * `redis-cli --cluster create … --cluster-yes`. `stop()` ends every process it started (by pid) and
 * removes the directories. Nothing is persisted (no RDB, no AOF): a node that restarts comes back
 * empty, as after a crash without persistence.
 */
export interface ClusterNode {
  port: number;
  dir: string;
  process: ChildProcess | null;
}

export class RedisClusterFixture {
  readonly nodes: ClusterNode[] = [];
  private root = '';

  constructor(
    private readonly masters = 3,
    private readonly replicasPerMaster = 1,
  ) {}

  /** `redis+cluster://127.0.0.1:p1,…` over the masters the cluster was created with. */
  get url(): string {
    return `redis+cluster://${this.nodes
      .slice(0, this.masters)
      .map((n) => `127.0.0.1:${n.port}`)
      .join(',')}`;
  }

  /**
   * Starts the nodes and creates the cluster. A failed start stops whatever it had started; a node
   * that could not start (a port taken meanwhile by another process) is retried on new ports.
   */
  async start(attempts = 3): Promise<this> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return this;
      } catch (err) {
        await this.stop();
        this.nodes.length = 0;
        if (attempt >= attempts) throw err;
      }
    }
  }

  private async startOnce(): Promise<void> {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-redis-cluster-'));
    const count = this.masters * (1 + this.replicasPerMaster);
    const ports = await freePortPairs(count);
    for (const port of ports) {
      const dir = path.join(this.root, String(port));
      fs.mkdirSync(dir);
      this.nodes.push({ port, dir, process: null });
    }
    await Promise.all(this.nodes.map((n) => this.startNode(n)));
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(this.replicasPerMaster),
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await this.waitHealthy();
  }

  /** Starts (or restarts) one node on its port and directory; resolves once it answers PING. */
  async startNode(node: ClusterNode): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        node.dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        '2000',
        // A replica may take over however long ago it last heard from its master: on a loaded machine
        // its link can look stale at the moment the master dies, and the default factor (10) then
        // left the slots failed for good (seen in CI: cluster_slots_fail 5461 after 30 s).
        '--cluster-replica-validity-factor',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--logfile',
        path.join(node.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    node.process = child;
    const deadline = Date.now() + 30_000;
    while (this.cli(node.port, 'PING').trim() !== 'PONG') {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`redis-server on ${node.port} did not start: ${this.log(node)}`);
      await sleep(100);
    }
  }

  private log(node: ClusterNode): string {
    try {
      return fs.readFileSync(path.join(node.dir, 'redis.log'), 'utf8').slice(-500);
    } catch {
      return '(no log)';
    }
  }

  /** Ends one node at once (SIGKILL: a crash, no goodbye to the cluster). */
  async kill(node: ClusterNode): Promise<void> {
    const child = node.process;
    node.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** One `redis-cli` command against a node (text output). */
  cli(port: number, ...args: string[]): string {
    const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
      encoding: 'utf8',
      timeout: 5000,
    });
    return r.stdout ?? '';
  }

  /** The node's role in the cluster now (`master` or `slave`), from ROLE. */
  role(node: ClusterNode): string {
    return this.cli(node.port, 'ROLE').split('\n')[0].trim();
  }

  /** Nodes that are running and currently masters. */
  runningMasters(): ClusterNode[] {
    return this.nodes.filter((n) => n.process && this.role(n) === 'master');
  }

  /** The running master that serves the hash slot of `key` now (from CLUSTER KEYSLOT and NODES). */
  masterOf(key: string): ClusterNode {
    const alive = this.nodes.find((n) => n.process)!;
    const slot = Number(this.cli(alive.port, 'CLUSTER', 'KEYSLOT', key).trim());
    for (const line of this.cli(alive.port, 'CLUSTER', 'NODES').split('\n')) {
      const [, address, flags, , , , , , ...ranges] = line.split(' ');
      if (!flags?.includes('master') || flags.includes('fail')) continue;
      const serves = ranges.some((r) => {
        const [lo, hi] = r.split('-').map(Number);
        return slot >= lo && slot <= (hi ?? lo);
      });
      const port = Number(address.split('@')[0].split(':')[1]);
      if (serves) return this.nodes.find((n) => n.port === port)!;
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /**
   * After `victim` was killed: until the running nodes have marked it failed (after
   * cluster-node-timeout), a replica took over its slots, and the cluster is healthy again.
   */
  async waitPromoted(victim: ClusterNode, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const failed = () =>
      this.nodes
        .filter((n) => n.process)
        .every((n) =>
          this.cli(n.port, 'CLUSTER', 'NODES')
            .split('\n')
            .some((line) => line.includes(`:${victim.port}@`) && /\bfail\b/.test(line.split(' ')[2] ?? '')),
        );
    while (!failed()) {
      if (Date.now() > deadline) throw new Error(`node ${victim.port} was not marked failed`);
      await sleep(50);
    }
    await this.waitHealthy(Math.max(1000, deadline - Date.now()));
  }

  /** Until every running node reports cluster_state:ok and all 16384 slots are served. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = this.nodes.filter((n) => n.process).map((n) => this.cli(n.port, 'CLUSTER', 'INFO'));
      if (states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s))) return;
      if (Date.now() > deadline) throw new Error(`the cluster did not become healthy:\n${states.join('\n')}`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n)));
    if (this.root) fs.rmSync(this.root, { recursive: true, force: true });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Ports p for which p and p + 10000 (the cluster bus port) are both free, picked at random in
 * 20000–44999 so that parallel runs seldom meet.
 */
async function freePortPairs(count: number): Promise<number[]> {
  const chosen: number[] = [];
  let start = 20_000 + Math.floor(Math.random() * 24_000);
  while (chosen.length < count) {
    const port = 20_000 + ((start++ - 20_000) % 25_000);
    if (chosen.includes(port) || chosen.includes(port - 10_000) || chosen.includes(port + 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) chosen.push(port);
  }
  return chosen;
}
