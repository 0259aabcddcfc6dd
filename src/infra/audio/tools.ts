import { spawn, type ChildProcess } from 'node:child_process';

/** Where the two FFmpeg programs are (names looked up on PATH, or absolute paths). */
export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
}

export interface ToolRun {
  /** Exit code; null when the process was killed. */
  code: number | null;
  stdout: string;
  /** The last few KB of stderr (FFmpeg's diagnostics), for logs only: it may name paths, never answers. */
  stderr: string;
  /** Killed because it outlived its deadline (or printed more than it may). */
  killed: boolean;
}

const MAX_STDOUT = 256 * 1024;
const MAX_STDERR = 4 * 1024;

/**
 * Runs one program with an argument array (never a shell: no string is ever parsed as a command
 * line) and kills it with SIGKILL at `deadline` (epoch ms). stdin is closed, so a program that would
 * wait for input ends at once. Resolves once the process has exited and its pipes are closed, so a
 * caller may delete the files it used right after. Rejects only when the program cannot be started
 * (ENOENT: not installed).
 */
export function runTool(
  file: string,
  args: string[],
  deadline: number,
  running: Set<ChildProcess> = new Set(),
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false, windowsHide: true });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let killed = false;
    const kill = () => {
      killed = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(kill, Math.max(0, deadline - Date.now()));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.length > MAX_STDOUT) kill();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-MAX_STDERR);
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      running.delete(child);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/**
 * Whether both programs start and answer `-version` (within 10 s). Never throws: a missing or broken
 * FFmpeg is a degraded service (voice messages answer 503), not a failed start. The processes join
 * `running`, so whoever kills those at shutdown ends the check too.
 */
export async function detectFfmpeg(
  tools: FfmpegTools,
  running: Set<ChildProcess> = new Set(),
): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  const deadline = Date.now() + 10_000;
  for (const file of [tools.ffprobe, tools.ffmpeg]) {
    try {
      const run = await runTool(file, ['-hide_banner', '-version'], deadline, running);
      if (run.code !== 0) return { ok: false, reason: `${file} -version exited with ${run.code ?? 'a signal'}` };
      if (file === tools.ffmpeg) return { ok: true, version: run.stdout.split('\n')[0]?.trim() ?? 'ffmpeg' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { ok: false, reason: code === 'ENOENT' ? `${file} not found` : `${file} could not be started (${code})` };
    }
  }
  return { ok: false, reason: 'unreachable' };
}
