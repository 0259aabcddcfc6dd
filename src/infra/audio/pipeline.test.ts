import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  brokenAac,
  mp3ClaimingDays,
  mp4Boxes,
  png,
  probe,
  quietOpus,
  SECRET_TAGS,
  sine,
  streamedWebm,
  videoOnly,
  videoWithAudio,
  vorbisWebm,
  type AudioKind,
} from '../../../test/helpers/audio';
import { AudioPipeline, AudioRefused, type AudioOptions, type AudioRefusalReason } from './pipeline';

// Real encodes of minutes of audio on a shared 2-core machine.
jest.setTimeout(120_000);

const tmpDirs: string[] = [];
function pipeline(options: Partial<AudioOptions> = {}) {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-audio-jobs-'));
  tmpDirs.push(tmpDir);
  return new AudioPipeline({ tmpDir, ...options });
}
afterAll(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

async function refusal(p: Promise<unknown>): Promise<AudioRefused> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AudioRefused);
    return err as AudioRefused;
  }
  throw new Error('expected a refusal');
}

const leftovers = (p: AudioPipeline) => fs.readdirSync(p.options.tmpDir);

describe('audio pipeline (real FFmpeg)', () => {
  const shared = pipeline();

  it.each<[AudioKind, string]>([
    ['webm', 'WebM/Opus'],
    ['ogg', 'Ogg/Opus'],
    ['mp3', 'MP3'],
    ['wav', 'WAV'],
    ['m4a', 'MP4/AAC'],
  ])('turns %s into AAC in MP4 of the same length, metadata gone', async (kind, label) => {
    const input = await sine(kind, 4);
    expect(JSON.stringify(await probe(input))).toContain(SECRET_TAGS.title); // the input does carry them

    const out = await shared.transcode(input);
    expect(out).toMatchObject({ contentType: 'audio/mp4', source: label });
    expect(Math.abs(out.durationSec - 4)).toBeLessThanOrEqual(0.2);

    const probed = await probe(out.body);
    expect(probed.format.format_name).toBe('mov,mp4,m4a,3gp,3g2,mj2');
    expect(Math.abs(Number(probed.format.duration) - 4)).toBeLessThanOrEqual(0.2);
    expect(probed.streams).toHaveLength(1);
    expect(probed.streams[0]).toMatchObject({ codec_type: 'audio', codec_name: 'aac', channels: 1 });
    // No tag of the input survives, and nothing names the encoder: only the MP4 brand boxes remain.
    const text = JSON.stringify(probed);
    for (const secret of Object.values(SECRET_TAGS)) expect(text).not.toContain(secret);
    expect(Object.keys(probed.format.tags ?? {}).sort()).toEqual(['compatible_brands', 'major_brand', 'minor_version']);
    expect(out.body.includes('Lavf')).toBe(false);
    // faststart: the index (moov) comes before the media data, so playback starts while downloading.
    const boxes = mp4Boxes(out.body);
    expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    expect(leftovers(shared)).toEqual([]);
  });

  it.each<[string, () => Promise<Buffer>, AudioRefusalReason, RegExp]>([
    ['text', async () => Buffer.from('hello, this is not audio at all\n'.repeat(50)), 'format', /not audio/],
    ['a PNG image', png, 'format', /not audio/],
    ['a video-only MP4', videoOnly, 'format', /video stream/],
    ['a video with sound', videoWithAudio, 'format', /video stream/],
    ['Vorbis in WebM', () => vorbisWebm(1), 'format', /vorbis audio in this container is not accepted/],
    ['a cut-off Ogg', async () => (await sine('ogg', 2)).subarray(0, 120), 'format', /not audio/],
    ['MP4/AAC with broken frames', brokenAac, 'undecodable', /could not be decoded as MP4\/AAC/],
    ['a tiny MP3 claiming five days', mp3ClaimingDays, 'duration', /is accepted/],
    ['5:10 of real audio', () => sine('mp3', 310), 'duration', /^The audio is 5:10 long; at most 5:00/],
  ])('refuses %s', async (_name, make, reason, message) => {
    const err = await refusal(shared.transcode(await make()));
    expect(err.reason).toBe(reason);
    expect(err.message).toMatch(message);
    expect(leftovers(shared)).toEqual([]);
  });

  it('accepts cover art in an MP3 and drops it', async () => {
    // An MP3 with an attached picture (ID3 APIC) is still audio; the picture is not stored.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-test-cover-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.mp3'), await sine('mp3', 2));
      fs.writeFileSync(path.join(dir, 'c.png'), await png());
      const { execFileSync } = await import('node:child_process');
      execFileSync('ffmpeg', [
        ...['-v', 'error', '-i', path.join(dir, 'a.mp3'), '-i', path.join(dir, 'c.png')],
        ...['-map', '0:a', '-map', '1:v', '-c', 'copy', '-disposition:v', 'attached_pic', path.join(dir, 'b.mp3')],
      ]);
      const out = await shared.transcode(fs.readFileSync(path.join(dir, 'b.mp3')));
      expect((await probe(out.body)).streams.map((s) => s.codec_type)).toEqual(['audio']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('measures a file that declares no length, and refuses it past 5 minutes after a capped decode', async () => {
    const short = await streamedWebm(3);
    expect((await probe(short)).format.duration).toBeUndefined(); // really no declared duration
    expect(Math.abs((await shared.transcode(short)).durationSec - 3)).toBeLessThanOrEqual(0.2);

    const long = await streamedWebm(330);
    const err = await refusal(shared.transcode(long));
    expect(err.reason).toBe('duration');
    // The decode stopped one second past the limit instead of running to 5:30.
    expect(err.message).toMatch(/^The audio is 5:0[01] long/);
    expect(leftovers(shared)).toEqual([]);
  });

  it('kills a job at its time limit: a small file that is minutes of decoding', async () => {
    const bomb = await quietOpus(299); // ≈ 100 KB, 299 s of audio: legal, but a lot of work per byte
    expect(bomb.length).toBeLessThan(200 * 1024);
    const strict = pipeline({ timeoutMs: 150 });
    const err = await refusal(strict.transcode(bomb));
    expect(err.reason).toBe('timeout');
    expect(strict.busy).toBe(0);
    expect(leftovers(strict)).toEqual([]);
    // With the default limit, the same file is fine.
    expect((await shared.transcode(bomb)).durationSec).toBeGreaterThan(298);
  });

  it('bounds jobs per instance: past the slots and the waiting places, busy at once', async () => {
    const p = pipeline({ concurrency: 2, maxWaiting: 3 });
    await p.detect();
    const clip = await sine('wav', 2);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, p.busy)), 5);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, async () => {
        const release = p.admit(); // refused synchronously when full, like the HTTP route before the body
        try {
          return await p.transcode(clip);
        } finally {
          release();
        }
      }),
    );
    clearInterval(sampler);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(ok).toHaveLength(5);
    expect(refused).toHaveLength(15);
    for (const err of refused) expect(err).toMatchObject({ reason: 'busy' });
    expect(peak).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThan(0);
    expect(p.inFlight).toBe(0);
    expect(() => p.admit()()).not.toThrow(); // places come back
    expect(leftovers(p)).toEqual([]);
  });

  it('sweeps job directories a killed process left behind, and only those past twice the limit (≥ 10 min)', async () => {
    const p = pipeline({ timeoutMs: 1000 });
    const dir = p.options.tmpDir;
    fs.mkdirSync(path.join(dir, 'pawmate-audio-old'));
    fs.writeFileSync(path.join(dir, 'pawmate-audio-old', 'input'), 'x');
    const old = new Date(Date.now() - 11 * 60_000);
    fs.utimesSync(path.join(dir, 'pawmate-audio-old'), old, old);
    fs.mkdirSync(path.join(dir, 'pawmate-audio-live'));
    fs.mkdirSync(path.join(dir, 'someone-else'));
    fs.utimesSync(path.join(dir, 'someone-else'), old, old);
    fs.mkdirSync(path.join(dir, 'pawmate-audio-recent'));
    const recent = new Date(Date.now() - 5 * 60_000); // past twice this pipeline's limit, not 10 minutes
    fs.utimesSync(path.join(dir, 'pawmate-audio-recent'), recent, recent);
    expect(await p.sweepStale()).toBe(1);
    expect(leftovers(p).sort()).toEqual(['pawmate-audio-live', 'pawmate-audio-recent', 'someone-else']);
  });

  it('ends a detection still running when it is closed', async () => {
    // An FFmpeg that takes 8 s to answer -version, as on a machine under heavy load.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-slow-ffmpeg-'));
    tmpDirs.push(dir);
    const [ffprobe, ffmpeg] = ['ffprobe', 'ffmpeg'].map((name) => path.join(dir, name));
    for (const file of [ffprobe, ffmpeg]) fs.writeFileSync(file, '#!/bin/sh\nexec sleep 8\n', { mode: 0o755 });
    const p = pipeline({ tools: { ffmpeg, ffprobe } });
    const detecting = p.detect();
    await new Promise((r) => setTimeout(r, 300));
    const closed = Date.now();
    await p.close();
    expect(await detecting).toMatchObject({ ok: false });
    // Before, the check (its process and its 10 s deadline timer) outlived close() by the full 8 s.
    expect(Date.now() - closed).toBeLessThan(3000);
    expect(p.closed).toBe(true);
  });

  it('without FFmpeg: detection says so, and every job is refused as unavailable', async () => {
    const p = pipeline({ tools: { ffmpeg: '/nonexistent/ffmpeg', ffprobe: '/nonexistent/ffprobe' } });
    expect(await p.detect()).toEqual({ ok: false, reason: '/nonexistent/ffprobe not found' });
    expect(p.available).toBe(false);
    expect(() => p.admit()).toThrow(expect.objectContaining({ reason: 'unavailable' }));
    expect((await refusal(p.transcode(await sine('wav', 1)))).reason).toBe('unavailable');
  });
});
