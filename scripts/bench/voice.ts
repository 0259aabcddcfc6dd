import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AUDIO_DEFAULTS, AudioPipeline, transcodeArgs } from '../../src/infra/audio/pipeline';
import { runTool } from '../../src/infra/audio/tools';
import { forkReady, ratio, table } from './run';
import { serverEnv, type BenchEnv } from './foundation';
import { Api, percentile, pool } from './http-client';
import { exited } from './sse';

const run = promisify(execFile);

/**
 * Voice transcode throughput (issue 17): 30-second WebM/Opus clips (what a browser's MediaRecorder
 * sends) turned into AAC in MP4, in files per second, with the pool at its default
 * (AUDIO_POOL_SIZE processes). Three ways, each run three times in this run:
 * - bare FFmpeg: the pipeline's own encode command, `pool` processes at a time, nothing else (the
 *   baseline: what this machine's FFmpeg can do);
 * - pipeline: AudioPipeline.transcode — temp dir, probe, encode, probe of the output, cleanup;
 * - API: POST /groups/{id}/voice on a running server (multipart, membership, rate limit, pool
 *   admission, storage, the database row), as many clients as the pool admits (pool + queue).
 */
const CLIP_SEC = 30;
const FILES_PER_RUN = 12;
const RUNS = 3;
// Not 4190: that is ManageSieve, one of the ports fetch() refuses to connect to.
const PORT = 4195;

interface Run {
  filesPerSec: number;
  p50: number;
  p99: number;
  refused: number;
}

async function makeClip(dir: string): Promise<Buffer> {
  const file = path.join(dir, 'clip.webm');
  // A tone under noise: the encoder has real work, unlike pure silence or a bare sine.
  await run('ffmpeg', [
    ...['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=220:duration=${CLIP_SEC}`],
    ...['-f', 'lavfi', '-i', `anoisesrc=duration=${CLIP_SEC}:amplitude=0.05`, '-filter_complex', 'amix=inputs=2'],
    ...['-c:a', 'libopus', '-b:a', '32k', file],
  ]);
  return fs.readFile(file);
}

async function timed(files: number, limit: number, one: () => Promise<boolean>): Promise<Run> {
  const latencies: number[] = [];
  let refused = 0;
  const started = performance.now();
  await pool(
    Array.from({ length: files }, (_, i) => i),
    limit,
    async () => {
      const t0 = performance.now();
      if (await one()) latencies.push(performance.now() - t0);
      else refused++;
    },
  );
  const sec = (performance.now() - started) / 1000;
  return {
    filesPerSec: latencies.length / sec,
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    refused,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number) => x.toFixed(2);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

export async function voiceBench(env: BenchEnv): Promise<{ markdown: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pawmate-bench-voice-'));
  const children: ChildProcess[] = [];
  try {
    const clip = await makeClip(dir);
    const { concurrency, maxWaiting } = AUDIO_DEFAULTS;
    const source = path.join(dir, 'input');
    await fs.writeFile(source, clip);

    const bare = () =>
      timed(FILES_PER_RUN, concurrency, async () => {
        const target = path.join(dir, `out-${Math.random().toString(36).slice(2)}.m4a`);
        const r = await runTool('ffmpeg', transcodeArgs(source, target, 'matroska', 300), Date.now() + 120_000);
        await fs.rm(target, { force: true });
        if (r.code !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
        return true;
      });
    const pipeline = new AudioPipeline({ tmpDir: dir });
    const direct = () =>
      timed(FILES_PER_RUN, concurrency + maxWaiting, async () => {
        const release = pipeline.admit();
        try {
          return (await pipeline.transcode(clip)).durationSec > CLIP_SEC - 1;
        } finally {
          release();
        }
      });

    const uploadDir = path.join(dir, 'uploads');
    children.push(
      await forkReady('src/server.js', [], {
        ...serverEnv(env, PORT),
        UPLOAD_DIR: uploadDir,
        PUBLIC_URL: `http://127.0.0.1:${PORT}`,
        VOICE_UPLOADS_PER_HOUR: '1000000',
      }),
    );
    const api = new Api(`http://127.0.0.1:${PORT}`);
    const user = await api.signup('voice-bench');
    const group = await api.ok<{ id: number }>('POST', '/api/v1/groups', { name: 'Bench family' }, user.token);
    const viaApi = () =>
      timed(FILES_PER_RUN, concurrency + maxWaiting, async () => {
        const form = new FormData();
        form.append('audio', new Blob([clip], { type: 'audio/webm' }), 'clip.webm');
        const res = await fetch(`${api.base}/api/v1/groups/${group.id}/voice`, {
          method: 'POST',
          headers: { authorization: `Bearer ${user.token}` },
          body: form,
        });
        await res.arrayBuffer();
        if (res.status === 503) return false;
        if (res.status !== 201) throw new Error(`upload answered ${res.status}`);
        return true;
      });

    // Interleaved, so a change in the machine's load hits the three alike.
    const results: Record<'bare' | 'pipeline' | 'api', Run[]> = { bare: [], pipeline: [], api: [] };
    const loads: string[] = [load()];
    for (let i = 0; i < RUNS; i++) {
      process.stdout.write(`  voice run ${i + 1}/${RUNS} (load ${load()})\n`);
      results.bare.push(await bare());
      results.pipeline.push(await direct());
      results.api.push(await viaApi());
    }
    loads.push(load());

    const baseline = median(results.bare.map((r) => r.filesPerSec));
    const rows = (Object.keys(results) as Array<keyof typeof results>).map((name) => {
      const rs = results[name];
      const rates = rs.map((r) => r.filesPerSec);
      return [
        { bare: 'bare FFmpeg (same command)', pipeline: 'AudioPipeline.transcode', api: 'POST /groups/{id}/voice' }[
          name
        ],
        name === 'bare' ? concurrency : concurrency + maxWaiting,
        fmt(median(rates)),
        `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`,
        ratio(median(rates), baseline),
        median(rs.map((r) => r.p50)),
        median(rs.map((r) => r.p99)),
        rs.reduce((n, r) => n + r.refused, 0),
      ];
    });
    const markdown = [
      `### Voice transcode throughput`,
      '',
      `${CLIP_SEC}-second WebM/Opus clips (${Math.round(clip.length / 1024)} KB, tone under noise) to AAC in MP4, ` +
        `${FILES_PER_RUN} files per run, ${RUNS} runs interleaved; the pool at its default (AUDIO_POOL_SIZE=${concurrency}, ` +
        `AUDIO_QUEUE=${maxWaiting}, one FFmpeg thread per process). Load average (1/5/15 min) before and after: ` +
        `${loads[0]} → ${loads[1]} on ${os.cpus().length} cores.`,
      '',
      table(['path', 'in flight', 'files/s (median)', 'spread', '× bare', 'p50 ms', 'p99 ms', '503s'], rows),
    ].join('\n');
    return { markdown };
  } finally {
    for (const c of children) {
      c.kill('SIGTERM');
      await exited(c);
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
}
