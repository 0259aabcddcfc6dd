import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Test audio made on the fly with the real FFmpeg (its `lavfi` sources), no binary fixtures in the
 * repository. Each call writes to a private temporary file and returns the bytes.
 */
const run = promisify(execFile);

export type AudioKind = 'webm' | 'ogg' | 'mp3' | 'wav' | 'm4a';

const ENCODE: Record<AudioKind, { ext: string; args: string[] }> = {
  webm: { ext: 'webm', args: ['-c:a', 'libopus', '-b:a', '32k'] },
  ogg: { ext: 'ogg', args: ['-c:a', 'libopus', '-b:a', '32k'] },
  mp3: { ext: 'mp3', args: ['-c:a', 'libmp3lame', '-b:a', '64k'] },
  wav: { ext: 'wav', args: ['-c:a', 'pcm_s16le'] },
  m4a: { ext: 'm4a', args: ['-c:a', 'aac', '-b:a', '64k'] },
};

/** The metadata every generated file carries, to prove the transcode drops it. */
export const SECRET_TAGS = { title: 'Secret Title 7', artist: 'Secret Artist 7', comment: 'GPS 37.5665 126.9780' };

async function ffmpeg(ext: string, args: string[]): Promise<Buffer> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pm-test-audio-'));
  const out = path.join(dir, `out.${ext}`);
  try {
    await run('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...args, out], { timeout: 60_000 });
    return await fs.readFile(out);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const tags = () => Object.entries(SECRET_TAGS).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]);

/** A 440 Hz sine of `seconds` in one of the accepted formats, tagged with SECRET_TAGS. */
export function sine(kind: AudioKind, seconds: number): Promise<Buffer> {
  const { ext, args } = ENCODE[kind];
  return ffmpeg(ext, ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, ...tags(), ...args]);
}

/** Silence at the lowest Opus bitrate: a small file (≈ 0.4 KB/s) that is a lot of decoding. */
export function quietOpus(seconds: number): Promise<Buffer> {
  return ffmpeg('ogg', [
    ...['-f', 'lavfi', '-i', `anullsrc=r=8000:cl=mono`, '-t', String(seconds)],
    ...['-c:a', 'libopus', '-b:a', '6k', '-application', 'voip'],
  ]);
}

/** WebM as MediaRecorder streams it: no duration in the header (written to a pipe, no seeking back). */
export async function streamedWebm(seconds: number): Promise<Buffer> {
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-nostdin', '-v', 'error', '-f', 'lavfi', '-i', `sine=duration=${seconds}:sample_rate=8000`],
      ...['-c:a', 'libopus', '-b:a', '6k', '-f', 'webm', 'pipe:1'],
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
  );
  return stdout;
}

/** Vorbis in WebM: a real audio file, in a pairing we do not accept. */
export function vorbisWebm(seconds: number): Promise<Buffer> {
  return ffmpeg('webm', ['-f', 'lavfi', '-i', `sine=duration=${seconds}`, '-c:a', 'libvorbis']);
}

/** An MP4 with one H.264 video stream and no audio. */
export function videoOnly(): Promise<Buffer> {
  return ffmpeg('mp4', ['-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x64:rate=10', '-c:v', 'libx264']);
}

/** An MP4 with a video stream next to AAC audio (a clip, not a voice message). */
export function videoWithAudio(): Promise<Buffer> {
  return ffmpeg('mp4', [
    ...['-f', 'lavfi', '-i', 'testsrc=duration=1:size=64x64:rate=10', '-f', 'lavfi', '-i', 'sine=duration=1'],
    ...['-c:v', 'libx264', '-c:a', 'aac', '-shortest'],
  ]);
}

/**
 * MP4/AAC whose container is intact (ffprobe sees 3 s of AAC) but whose audio frames are zeroed:
 * acceptable by its header, undecodable by its content.
 */
export async function brokenAac(): Promise<Buffer> {
  const bytes = await ffmpeg('m4a', [
    ...['-f', 'lavfi', '-i', 'sine=duration=3', '-c:a', 'aac', '-movflags', '+faststart'],
  ]);
  const mdat = bytes.indexOf('mdat');
  if (mdat < 0) throw new Error('no mdat box in the generated MP4');
  bytes.fill(0, mdat + 4);
  return bytes;
}

/** A PNG image made by FFmpeg. */
export function png(): Promise<Buffer> {
  return ffmpeg('png', ['-f', 'lavfi', '-i', 'testsrc=size=64x64', '-frames:v', '1']);
}

/**
 * A one-second MP3 whose Xing header claims ~16 million frames (about five days): a tiny file that
 * declares a huge duration. (LAME writes the header in its first frame; the frame count follows the
 * "Xing"/"Info" tag and its flags word.)
 */
export async function mp3ClaimingDays(): Promise<Buffer> {
  const bytes = await ffmpeg('mp3', ['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'libmp3lame', '-b:a', '64k']);
  let at = bytes.indexOf('Info');
  if (at < 0) at = bytes.indexOf('Xing');
  if (at < 0) throw new Error('no Xing/Info header in the generated MP3');
  if ((bytes.readUInt32BE(at + 4) & 1) === 0) throw new Error('the Xing header has no frame count');
  bytes.writeUInt32BE(0x00ffffff, at + 8);
  return bytes;
}

/** What ffprobe says about some bytes (for assertions on the pipeline's output). */
export async function probe(bytes: Buffer): Promise<{
  format: { format_name: string; duration: string; tags?: Record<string, string> };
  streams: Array<{ codec_type: string; codec_name: string; channels?: number; tags?: Record<string, string> }>;
}> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pm-test-audio-'));
  const file = path.join(dir, 'probe');
  try {
    await fs.writeFile(file, bytes);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file]);
    return JSON.parse(stdout);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Offsets of the top-level MP4 boxes, by type (e.g. to check that `moov` precedes `mdat`). */
export function mp4Boxes(bytes: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    let size = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(bytes.readBigUInt64BE(at + 8));
    out.push(type);
    if (size < 8) break;
    at += size;
  }
  return out;
}
