import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Semaphore } from '../images/semaphore';
import { ACCEPTED_FORMATS, ACCEPTED_LABELS, DEMUXER_WHITELIST, MAX_CHANNELS, MAX_SAMPLE_RATE } from './formats';
import { detectFfmpeg, runTool, type FfmpegTools, type ToolRun } from './tools';

/**
 * Why the pipeline refused an input. The adapter says what happened; the application decides what
 * it means to a client (the groups module maps these to its errors):
 * - `format`: not audio we accept, judged from the bytes (another container or codec, a video
 *   stream, an image, text, too many channels);
 * - `undecodable`: it looked acceptable but FFmpeg could not turn it into audio;
 * - `duration`: longer than `maxDurationSec`, as declared by the file or as decoded;
 * - `timeout`: the job outlived `timeoutMs` and was killed (a decompression-bomb-like input);
 * - `busy`: every process slot and waiting place of this instance is taken;
 * - `unavailable`: FFmpeg is not installed (or cannot be started).
 */
export type AudioRefusalReason = 'format' | 'undecodable' | 'duration' | 'timeout' | 'busy' | 'unavailable';

export class AudioRefused extends Error {
  constructor(
    readonly reason: AudioRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'AudioRefused';
  }
}

export interface AudioOptions {
  tools: FfmpegTools;
  /** FFmpeg processes at once on this instance (each uses one thread). */
  concurrency: number;
  /** Jobs admitted beyond the running ones, waiting for a process slot; past it, `busy`. */
  maxWaiting: number;
  /** Wall-clock limit of one job (probe, transcode, check), from the moment it gets a slot. */
  timeoutMs: number;
  maxDurationSec: number;
  /** Parent of the per-job temporary directories. */
  tmpDir: string;
}

export const AUDIO_DEFAULTS: AudioOptions = {
  tools: { ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' },
  concurrency: 2,
  maxWaiting: 4,
  timeoutMs: 60_000,
  maxDurationSec: 300,
  tmpDir: os.tmpdir(),
};

export interface TranscodedAudio {
  body: Buffer;
  contentType: 'audio/mp4';
  /** Of the stored AAC, rounded to milliseconds. */
  durationSec: number;
  /** What the upload was, e.g. `WebM/Opus` (logs). */
  source: string;
}

/** A stored file's duration may exceed the limit by this much (codec priming and padding). */
const DURATION_SLACK_SEC = 0.25;
/** Prefix of each job's temporary directory. */
export const AUDIO_TMP_PREFIX = 'pawmate-audio-';
const STALE_FLOOR_MS = 10 * 60_000;

interface ProbedStream {
  codec_type?: string;
  codec_name?: string;
  channels?: number;
  sample_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}
interface Probed {
  streams?: ProbedStream[];
  format?: { format_name?: string; duration?: string };
}

const notAccepted = (what: string) => new AudioRefused('format', `${what}; accepted audio is ${ACCEPTED_LABELS}`);
const tooSlow = () =>
  new AudioRefused('timeout', 'The audio took too long to decode and was abandoned; send a shorter or simpler file');
const minutes = (sec: number) => `${Math.floor(sec / 60)}:${String(Math.floor(sec % 60)).padStart(2, '0')}`;

/**
 * The encode of one job: `source` read with the probed demuxer only, its first audio stream written
 * to `target` as AAC-LC in MP4 (mono, 48 kHz, 64 kb/s, moov first), no metadata. Exported for the
 * benchmark's bare-FFmpeg baseline, so both run the same command.
 */
export function transcodeArgs(source: string, target: string, demuxer: string, maxDurationSec: number): string[] {
  // Decoding stops one second past the limit: a longer file is refused after at most that much work.
  const cap = String(maxDurationSec + 1);
  return [
    ...['-nostdin', '-hide_banner', '-v', 'error', '-threads', '1'],
    ...['-protocol_whitelist', 'file', '-format_whitelist', DEMUXER_WHITELIST, '-f', demuxer, '-i', source],
    // The first audio stream only: no cover art, subtitles, data or chapters; no metadata at all,
    // and bitexact so not even the encoder's name is written.
    ...['-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1', '-map_chapters', '-1'],
    ...['-fflags', '+bitexact', '-flags:a', '+bitexact'],
    ...['-ac', '1', '-ar', '48000', '-c:a', 'aac', '-b:a', '64k', '-threads', '1', '-t', cap],
    ...['-movflags', '+faststart', '-f', 'mp4', target],
  ];
}

/**
 * Untrusted bytes → AAC in MP4 (`audio/mp4`, moov first so playback starts before the download
 * ends, mono 48 kHz 64 kb/s: a voice message, playable by every browser, iOS Safari included).
 * Each job runs FFmpeg's programs as child processes, with argument arrays and no shell, in a
 * private temporary directory that is removed whatever happens (success, refusal, kill). A semaphore
 * bounds the processes per instance; `admit` bounds the jobs (running and waiting) so that an HTTP
 * route can refuse an upload before it reads the body.
 */
export class AudioPipeline {
  readonly options: AudioOptions;
  private readonly slots: Semaphore;
  private readonly running = new Set<ChildProcess>();
  private admitted = 0;
  private installed: boolean | undefined;
  private closing = false;
  private detection: Promise<{ ok: true; version: string } | { ok: false; reason: string }> | undefined;

  constructor(options: Partial<AudioOptions> = {}) {
    this.options = { ...AUDIO_DEFAULTS, ...options };
    const full = () => new AudioRefused('busy', 'Too many voice messages are being processed; retry shortly');
    this.slots = new Semaphore(this.options.concurrency, this.options.maxWaiting, full);
  }

  /**
   * Finds out (once) whether FFmpeg is installed; the answer says why not, for the start-up log line.
   * Its processes are among the running ones, so `close` ends a check still going (a slow `-version`
   * on a loaded machine would otherwise outlive the app for up to the check's 10 s deadline).
   */
  detect() {
    this.detection ??= detectFfmpeg(this.options.tools, this.running).then((found) => {
      this.installed = found.ok;
      return found;
    });
    return this.detection;
  }

  /** True once `close` was called: a failed check after it says nothing about FFmpeg. */
  get closed(): boolean {
    return this.closing;
  }

  /** False once detection found no FFmpeg; undefined before it has answered. */
  get available(): boolean | undefined {
    return this.installed;
  }

  /** FFmpeg processes running now (a metric). */
  get busy(): number {
    return this.slots.inUse;
  }

  /** Jobs admitted and not yet released (running, waiting, or still receiving their upload). */
  get inFlight(): number {
    return this.admitted;
  }

  /**
   * Takes a place for one job before its bytes arrive: refused at once (`busy`) when every process
   * slot and waiting place is taken, or (`unavailable`) when FFmpeg is missing. The returned function
   * gives the place back (idempotent); call it when the request is answered.
   */
  admit(): () => void {
    if (this.installed === false) throw this.missing();
    if (this.admitted >= this.options.concurrency + this.options.maxWaiting) {
      throw new AudioRefused('busy', 'Too many voice messages are being processed; retry shortly');
    }
    this.admitted++;
    let released = false;
    return () => {
      if (!released) this.admitted--;
      released = true;
    };
  }

  async transcode(input: Buffer): Promise<TranscodedAudio> {
    if (!(await this.detect()).ok) throw this.missing();
    return this.slots.run(() => this.job(input, Date.now() + this.options.timeoutMs));
  }

  /**
   * Removes job directories that a process killed mid-job left behind (a job's own `finally` cannot
   * run after SIGKILL or a crash). Only directories older than twice the time limit, and at least
   * 10 minutes, go: no live job of an instance sharing `tmpDir` (even one with a longer limit, up
   * to 5 minutes) is that old. Answers how many were removed.
   */
  async sweepStale(now = Date.now()): Promise<number> {
    let removed = 0;
    const entries = await fs.readdir(this.options.tmpDir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (!e.isDirectory() || !e.name.startsWith(AUDIO_TMP_PREFIX)) continue;
      const dir = path.join(this.options.tmpDir, e.name);
      const stat = await fs.stat(dir).catch(() => null);
      if (!stat || now - stat.mtimeMs < Math.max(2 * this.options.timeoutMs, STALE_FLOOR_MS)) continue;
      await fs.rm(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Kills the running processes (shutdown): their jobs end as `timeout` and clean up after themselves. */
  async close(): Promise<void> {
    this.closing = true;
    for (const child of this.running) child.kill('SIGKILL');
  }

  private async job(input: Buffer, deadline: number): Promise<TranscodedAudio> {
    const dir = await fs.mkdtemp(path.join(this.options.tmpDir, AUDIO_TMP_PREFIX));
    try {
      // No extension: FFmpeg's probing must not get a hint from a name.
      const source = path.join(dir, 'input');
      const target = path.join(dir, 'output.m4a');
      await fs.writeFile(source, input, { flag: 'wx', mode: 0o600 });
      const format = await this.probeInput(source, deadline);
      const run = await this.run(
        this.options.tools.ffmpeg,
        transcodeArgs(source, target, format.demuxer, this.options.maxDurationSec),
        deadline,
      );
      if (run.code !== 0) {
        throw new AudioRefused('undecodable', `The file could not be decoded as ${format.label} audio`);
      }
      const durationSec = await this.probeOutput(target, deadline);
      if (durationSec > this.options.maxDurationSec + DURATION_SLACK_SEC) throw this.tooLong(durationSec);
      return { body: await fs.readFile(target), contentType: 'audio/mp4', durationSec, source: format.label };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  /** ffprobe's view of the upload → the accepted format it is, or a refusal. */
  private async probeInput(file: string, deadline: number) {
    const probed = await this.probe(file, deadline, ['-format_whitelist', DEMUXER_WHITELIST]);
    if (!probed?.format?.format_name) throw notAccepted('The file is not audio in a format we accept');
    const format = ACCEPTED_FORMATS.find((f) => f.formatName === probed.format!.format_name);
    if (!format) throw notAccepted(`The ${probed.format.format_name} container is not accepted`);
    const streams = probed.streams ?? [];
    // Cover art (an attached picture in MP3 or MP4) is not a video stream; it is dropped.
    if (streams.some((s) => s.codec_type === 'video' && !s.disposition?.attached_pic)) {
      throw notAccepted('The file holds a video stream; send audio only');
    }
    const audio = streams.find((s) => s.codec_type === 'audio');
    if (!audio) throw notAccepted(`The ${format.label.split('/')[0]} file holds no audio`);
    const codec = audio.codec_name ?? 'unknown';
    if (!format.codec(codec)) throw notAccepted(`${codec} audio in this container is not accepted`);
    if ((audio.channels ?? 0) > MAX_CHANNELS || Number(audio.sample_rate ?? 0) > MAX_SAMPLE_RATE) {
      throw notAccepted(`Audio with ${audio.channels} channels at ${audio.sample_rate} Hz is not accepted`);
    }
    // The declared length, when the file states one: refused before any decoding. Files that state
    // none (streamed WebM) are measured after the capped decode instead.
    const declared = Math.max(Number(probed.format.duration) || 0, Number(audio.duration) || 0);
    if (declared > this.options.maxDurationSec + DURATION_SLACK_SEC) throw this.tooLong(declared);
    return format;
  }

  /** The duration of what we wrote, checking on the way that it is AAC in MP4. */
  private async probeOutput(file: string, deadline: number): Promise<number> {
    const probed = await this.probe(file, deadline, []);
    const audio = probed?.streams?.find((s) => s.codec_type === 'audio');
    const duration = Number(probed?.format?.duration);
    if (audio?.codec_name !== 'aac' || !(duration > 0)) {
      throw new AudioRefused('undecodable', 'The file decoded to no audio');
    }
    return Math.round(duration * 1000) / 1000;
  }

  private async probe(file: string, deadline: number, extra: string[]): Promise<Probed | null> {
    const args = [
      ...['-v', 'error', '-hide_banner', '-protocol_whitelist', 'file', ...extra],
      '-show_entries',
      'format=format_name,duration:stream=codec_type,codec_name,channels,sample_rate,duration:stream_disposition=attached_pic',
      ...['-of', 'json', file],
    ];
    const run = await this.run(this.options.tools.ffprobe, args, deadline);
    if (run.code !== 0) return null;
    try {
      return JSON.parse(run.stdout) as Probed;
    } catch {
      return null;
    }
  }

  /** One process within the job's deadline; a kill is the time limit, a failed start is a missing FFmpeg. */
  private async run(file: string, args: string[], deadline: number): Promise<ToolRun> {
    if (Date.now() >= deadline) throw tooSlow();
    let run: ToolRun;
    try {
      run = await runTool(file, args, deadline, this.running);
    } catch {
      this.installed = false;
      throw this.missing();
    }
    if (run.killed) throw tooSlow();
    return run;
  }

  private tooLong(sec: number) {
    return new AudioRefused(
      'duration',
      `The audio is ${minutes(sec)} long; at most ${minutes(this.options.maxDurationSec)} is accepted`,
    );
  }

  private missing() {
    return new AudioRefused('unavailable', 'Voice messages are unavailable: FFmpeg is not installed on this server');
  }
}
