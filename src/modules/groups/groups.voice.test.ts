import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryTypes } from 'sequelize';
import { TestContext, bearer, signup, type TestInstance } from '../../../test/helpers/context';
import { rawUpload } from '../../../test/helpers/images';
import { png, probe, quietOpus, SECRET_TAGS, sine, videoOnly } from '../../../test/helpers/audio';
import { inTransaction } from '../../infra/db';
import { VoiceRepository } from './groups.voice.repository';

// Real FFmpeg transcodes on a shared 2-core machine.
jest.setTimeout(120_000);

type Session = Awaited<ReturnType<typeof signup>>;

let ctx: TestContext;
let api: TestInstance;
const jobsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-voice-jobs-'));

beforeAll(async () => {
  ctx = await new TestContext().setup();
  api = await ctx.instance({ audio: { ...ctx.config.audio, tmpDir: jobsDir } });
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(jobsDir, { recursive: true, force: true });
});

const auth = (s: Session) => bearer(s.accessToken);
const count = async (sql: string, replacements: unknown[] = []) =>
  Number((await api.sequelize.query<{ n: number }>(sql, { replacements, type: QueryTypes.SELECT }))[0].n);
const voiceFiles = () => {
  const dir = path.join(ctx.uploadDir, 'voice');
  return fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    : [];
};
const keyOf = (url: string) => url.replace('http://pawmate.test/uploads/', '');
const stored = (url: string) => fs.existsSync(path.join(ctx.uploadDir, keyOf(url)));

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function makeGroup(s: Session, inst = api) {
  const res = await inst.http.post('/api/v1/groups').set(auth(s)).send({ name: 'Family' });
  if (res.status !== 201) throw new Error(`group failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number };
}
const join = (groupId: number, s: Session) =>
  inTransaction(api.sequelize, (t) => api.pawmate.services.groups.groups.joinInTx(t, groupId, s.user.id));

function upload(
  s: Session,
  groupId: number,
  audio: Buffer,
  opts: { filename?: string; contentType?: string; title?: string; inst?: TestInstance } = {},
) {
  const req = (opts.inst ?? api).http
    .post(`/api/v1/groups/${groupId}/voice`)
    .set(auth(s))
    .attach('audio', audio, { filename: opts.filename ?? 'voice.webm', contentType: opts.contentType ?? 'audio/webm' });
  return opts.title === undefined ? req : req.field('title', opts.title);
}

describe('voice messages', () => {
  it('stores a WebM/Opus upload as AAC in MP4 and lists it newest first', async () => {
    const a = await signup(api, { nickname: 'Mina' });
    const g = await makeGroup(a);
    const res = await upload(a, g.id, await sine('webm', 3), { title: '  Walk at six  ', filename: 'x.webm' }).expect(
      201,
    );
    expect(res.body).toEqual({
      id: expect.any(Number),
      url: expect.stringMatching(new RegExp(`^http://pawmate.test/uploads/voice/${g.id}/[0-9a-f]{32}\\.m4a$`)),
      durationSec: expect.any(Number),
      title: 'Walk at six',
      author: { id: a.user.id, nickname: 'Mina', avatarUrl: null },
      createdAt: expect.any(String),
    });
    expect(Math.abs(res.body.durationSec - 3)).toBeLessThanOrEqual(0.2);

    // The stored object is served as audio/mp4 and is AAC without the upload's tags.
    const file = await api.http
      .get(`/uploads/${keyOf(res.body.url)}`)
      .buffer(true)
      .expect(200);
    expect(file.headers['content-type']).toBe('audio/mp4');
    const probed = await probe(file.body as Buffer);
    expect(probed.streams.map((st) => st.codec_name)).toEqual(['aac']);
    expect(JSON.stringify(probed)).not.toContain(SECRET_TAGS.title);

    const second = await upload(a, g.id, await sine('mp3', 1), { filename: 'b.mp3', contentType: 'audio/mpeg' }).expect(
      201,
    );
    expect(second.body.title).toBeNull();
    const page1 = await api.http.get(`/api/v1/groups/${g.id}/voice?limit=1`).set(auth(a)).expect(200);
    expect(page1.body.items.map((v: { id: number }) => v.id)).toEqual([second.body.id]);
    expect(page1.body.items[0]).toEqual(second.body);
    const page2 = await api.http
      .get(`/api/v1/groups/${g.id}/voice?limit=1&cursor=${page1.body.nextCursor}`)
      .set(auth(a))
      .expect(200);
    expect(page2.body).toEqual({ items: [res.body], nextCursor: null });
    expect(fs.readdirSync(jobsDir)).toEqual([]);
  });

  it('goes by the bytes, not the name or the declared type', async () => {
    const a = await signup(api);
    const g = await makeGroup(a);
    // WAV bytes named and typed as WebM: accepted as what they are.
    const wav = await upload(a, g.id, await sine('wav', 2), { filename: 'v.webm', contentType: 'audio/webm' });
    expect(wav.status).toBe(201);
    // A PNG named and typed as MP3: refused.
    const pic = await upload(a, g.id, await png(), { filename: 'v.mp3', contentType: 'audio/mpeg' }).expect(415);
    expect(pic.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', detail: expect.stringMatching(/not audio/) });
  });

  it('refuses text, images, video and over-long audio without writing anything', async () => {
    const a = await signup(api);
    const g = await makeGroup(a);
    const filesBefore = voiceFiles().length;
    for (const body of [Buffer.from('just some text\n'.repeat(20)), await png(), await videoOnly()]) {
      const res = await upload(a, g.id, body).expect(415);
      expect(res.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    const long = await upload(a, g.id, await sine('mp3', 310)).expect(400);
    expect(long.body.errors).toEqual([
      { path: 'body.audio', message: 'body.audio is 5:10 long; at most 5:00 is accepted' },
    ]);
    const titled = await upload(a, g.id, await sine('wav', 1), { title: 'x'.repeat(101) }).expect(400);
    expect(titled.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.title']);
    const none = await api.http.post(`/api/v1/groups/${g.id}/voice`).set(auth(a)).field('title', 'hi').expect(400);
    expect(none.body.errors).toEqual([{ path: 'body.audio', message: expect.stringMatching(/one audio file/) }]);
    expect(await count('SELECT COUNT(*) AS n FROM group_voice_messages WHERE groupId = ?', [g.id])).toBe(0);
    expect(voiceFiles()).toHaveLength(filesBefore);
    expect(fs.readdirSync(jobsDir)).toEqual([]);
  });

  it('answers a readable 413 past 10 MB, declared or chunked', async () => {
    const a = await signup(api);
    const g = await makeGroup(a);
    const big = Buffer.alloc(11 * 1024 * 1024, 7);
    for (const chunked of [false, true]) {
      const res = await rawUpload(`${api.url}/api/v1/groups/${g.id}/voice`, {
        method: 'POST',
        token: a.accessToken,
        field: 'audio',
        filename: 'big.wav',
        contentType: 'audio/wav',
        body: big,
        chunked,
      });
      expect(res.status).toBe(413);
      expect(res.json).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
  });

  it('is 404 to non-members (before the upload is read), 403 to members deleting others’ messages', async () => {
    const owner = await signup(api);
    const admin = await signup(api);
    const member = await signup(api);
    const stranger = await signup(api);
    const g = await makeGroup(owner);
    await join(g.id, admin);
    await join(g.id, member);
    await api.http.patch(`/api/v1/groups/${g.id}/members/${admin.user.id}`).set(auth(owner)).send({ role: 'admin' });
    const clip = await sine('ogg', 1);

    const refused = await rawUpload(`${api.url}/api/v1/groups/${g.id}/voice`, {
      method: 'POST',
      token: stranger.accessToken,
      field: 'audio',
      body: Buffer.alloc(5 * 1024 * 1024, 1),
    });
    expect(refused.status).toBe(404);
    expect(refused.headers.connection).toBe('close');
    await api.http.get(`/api/v1/groups/${g.id}/voice`).set(auth(stranger)).expect(404);

    const byOwner = (await upload(owner, g.id, clip).expect(201)).body;
    const byMember = (await upload(member, g.id, clip).expect(201)).body;
    const byMember2 = (await upload(member, g.id, clip).expect(201)).body;
    await api.http.delete(`/api/v1/groups/${g.id}/voice/${byOwner.id}`).set(auth(stranger)).expect(404);
    await api.http.delete(`/api/v1/groups/${g.id}/voice/${byOwner.id}`).set(auth(member)).expect(403);
    await api.http.delete(`/api/v1/groups/${g.id}/voice/${byMember.id}`).set(auth(admin)).expect(204);
    await api.http.delete(`/api/v1/groups/${g.id}/voice/${byMember2.id}`).set(auth(member)).expect(204);
    await api.http.delete(`/api/v1/groups/${g.id}/voice/${byMember2.id}`).set(auth(member)).expect(404);
    // Files of deleted messages leave storage once the deletion has committed; the others stay.
    await until(() => !stored(byMember.url) && !stored(byMember2.url), 'the deleted files to go');
    expect(stored(byOwner.url)).toBe(true);
    const left = await api.http.get(`/api/v1/groups/${g.id}/voice`).set(auth(member)).expect(200);
    expect(left.body.items.map((v: { id: number }) => v.id)).toEqual([byOwner.id]);
  });

  it('keeps the file of a committed message when reading it back fails', async () => {
    const a = await signup(api);
    const g = await makeGroup(a);
    // The database fails the read after the insert committed (a dropped connection, say).
    jest.spyOn(VoiceRepository.prototype, 'find').mockRejectedValueOnce(new Error('connection lost'));
    await upload(a, g.id, await sine('wav', 1)).expect(500);
    const [row] = await api.sequelize.query<{ url: string }>('SELECT url FROM group_voice_messages WHERE groupId = ?', {
      replacements: [g.id],
      type: QueryTypes.SELECT,
    });
    expect(fs.existsSync(path.join(ctx.uploadDir, row.url))).toBe(true);
    const listed = await api.http.get(`/api/v1/groups/${g.id}/voice`).set(auth(a)).expect(200);
    expect(listed.body.items).toHaveLength(1);
    expect(stored(listed.body.items[0].url)).toBe(true);
    jest.restoreAllMocks();
  });

  it('deletes every voice file of a deleted group after the commit', async () => {
    const a = await signup(api);
    const g = await makeGroup(a);
    const urls: string[] = [];
    for (let i = 0; i < 3; i++) urls.push((await upload(a, g.id, await sine('wav', 1)).expect(201)).body.url);
    expect(urls.every(stored)).toBe(true);
    await api.http.delete(`/api/v1/groups/${g.id}`).set(auth(a)).expect(204);
    expect(await count('SELECT COUNT(*) AS n FROM group_voice_messages WHERE groupId = ?', [g.id])).toBe(0);
    await until(() => urls.every((u) => !stored(u)), 'the group’s voice files to go');
  });

  it('bounds the transcode pool: 20 concurrent uploads, some 503 with Retry-After, none 500', async () => {
    const poolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-voice-pool-'));
    const small = await ctx.instance({ audio: { ...ctx.config.audio, poolSize: 2, queue: 2, tmpDir: poolDir } });
    try {
      const a = await signup(small);
      const g = await makeGroup(a, small);
      const clip = await sine('mp3', 4);
      const answers = await Promise.all(Array.from({ length: 20 }, () => upload(a, g.id, clip, { inst: small })));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s !== 201 && s !== 503)).toEqual([]);
      const busy = answers.filter((r) => r.status === 503);
      expect(busy.length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(4);
      for (const r of busy) {
        expect(r.headers['retry-after']).toMatch(/^\d+$/);
        expect(r.body.code).toBe('UNAVAILABLE');
      }
      const created = statuses.filter((s) => s === 201).length;
      expect(await count('SELECT COUNT(*) AS n FROM group_voice_messages WHERE groupId = ?', [g.id])).toBe(created);
      expect(small.pawmate.services.groups.voice).toBeDefined();
      expect(fs.readdirSync(poolDir)).toEqual([]);
    } finally {
      await small.close();
      fs.rmSync(poolDir, { recursive: true, force: true });
    }
  });

  it('stops a small file that is minutes of decoding at the time limit (415), leaving no temporary file', async () => {
    const strictDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm-voice-strict-'));
    const strict = await ctx.instance({ audio: { ...ctx.config.audio, jobTimeoutMs: 150, tmpDir: strictDir } });
    try {
      const a = await signup(strict);
      const g = await makeGroup(a, strict);
      const res = await upload(a, g.id, await quietOpus(299), { inst: strict }).expect(415);
      expect(res.body.detail).toMatch(/took too long/);
      expect(fs.readdirSync(strictDir)).toEqual([]);
    } finally {
      await strict.close();
      fs.rmSync(strictDir, { recursive: true, force: true });
    }
  });

  it('limits uploads per user per hour (429 with Retry-After)', async () => {
    const limited = await ctx.instance({ voiceUploadsPerHour: 2 });
    try {
      const a = await signup(limited);
      const g = await makeGroup(a, limited);
      const clip = await sine('wav', 1);
      await upload(a, g.id, clip, { inst: limited }).expect(201);
      await upload(a, g.id, clip, { inst: limited }).expect(201);
      const third = await upload(a, g.id, clip, { inst: limited }).expect(429);
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });

  it('without FFmpeg: uploads answer 503, the rest of the app and the voice list work', async () => {
    const bare = await ctx.instance({
      audio: { ...ctx.config.audio, ffmpegPath: '/nonexistent/ffmpeg', ffprobePath: '/nonexistent/ffprobe' },
    });
    try {
      const a = await signup(bare);
      const g = await makeGroup(a, bare);
      await bare.pawmate.services.groups.voice.ready();
      const res = await upload(a, g.id, await sine('wav', 1), { inst: bare }).expect(503);
      expect(res.body.detail).toMatch(/FFmpeg is not installed/);
      expect(res.headers['retry-after']).toBeDefined();
      await bare.http.get(`/api/v1/groups/${g.id}/voice`).set(auth(a)).expect(200);
      await bare.http.get(`/api/v1/groups/${g.id}`).set(auth(a)).expect(200);
    } finally {
      await bare.close();
    }
  });
});
