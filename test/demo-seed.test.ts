import fs from 'node:fs';
import { QueryTypes } from 'sequelize';
import { TestContext } from './helpers/context';
import { createSequelize } from '../src/infra/db';
import { seeder } from '../src/infra/migrator';
import { probe } from './helpers/audio';

/** The quick start's data loads on a fresh database, and the board's counters match its rows. */
describe('demo seed data', () => {
  const ctx = new TestContext();
  beforeAll(() => ctx.setup());
  afterAll(() => ctx.close());

  it('seeds a living board: posts with photos, comments with a reply, likes and one open chat', async () => {
    const env = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: ctx.config.databaseUrl,
      REDIS_URL: ctx.config.redisUrl,
      JWT_SECRET: 'z'.repeat(40),
      UPLOAD_DIR: ctx.uploadDir,
      PUBLIC_URL: ctx.config.publicUrl,
      STORAGE_DRIVER: 'local',
    });
    const sequelize = createSequelize(ctx.config.databaseUrl, 1);
    try {
      await seeder(sequelize).up();
      const q = <T extends object>(sql: string) => sequelize.query<T>(sql, { type: QueryTypes.SELECT });
      const posts = await q<{ id: number; kind: string; chatRoomId: number | null }>(
        'SELECT id, kind, chatRoomId FROM posts',
      );
      expect(posts.length).toBeGreaterThanOrEqual(4);
      expect(posts.filter((p) => p.kind === 'open_chat' && p.chatRoomId)).toHaveLength(1);
      const drift = await q<{ id: number }>(
        `SELECT p.id FROM posts p WHERE p.likeCount <> (SELECT COUNT(*) FROM post_likes l WHERE l.postId = p.id)
            OR p.commentCount <> (SELECT COUNT(*) FROM post_comments c WHERE c.postId = p.id AND c.deletedAt IS NULL)
            OR p.photoCount <> (SELECT COUNT(*) FROM post_photos f WHERE f.postId = p.id)`,
      );
      expect(drift).toEqual([]);
      // Every post has the word-prefix rows that `q` walks (산책 finds the walk route).
      const unindexed = await q<{ id: number }>(
        'SELECT p.id FROM posts p WHERE NOT EXISTS (SELECT 1 FROM post_word_prefixes w WHERE w.postId = p.id)',
      );
      expect(unindexed).toEqual([]);
      const photos = await q<{ url: string }>('SELECT url FROM post_photos');
      expect(photos).toHaveLength(2);
      for (const p of photos)
        expect(fs.existsSync(`${ctx.uploadDir}/${p.url.replace(`${ctx.config.publicUrl}/uploads/`, '')}`)).toBe(true);
      expect((await q<{ n: number }>('SELECT COUNT(*) AS n FROM post_comments WHERE parentId IS NOT NULL'))[0].n).toBe(
        1,
      );
      // The market: listings near the demo owner, one with the owner's offer and its trade chat.
      const listings = await q<{ id: number }>(
        `SELECT l.id FROM market_listings l WHERE l.offerCount <> (SELECT COUNT(*) FROM market_offers o WHERE o.listingId = l.id)
            OR l.favoriteCount <> (SELECT COUNT(*) FROM market_favorites f WHERE f.listingId = l.id)`,
      );
      expect(listings).toEqual([]);
      expect((await q<{ n: number }>('SELECT COUNT(*) AS n FROM market_listings'))[0].n).toBeGreaterThanOrEqual(5);
      const trade = await q<{ n: number }>(
        `SELECT COUNT(*) AS n FROM market_offers o JOIN chat_rooms r ON r.id = o.chatRoomId AND r.type = 'listing'
           JOIN chat_messages m ON m.roomId = r.id`,
      );
      expect(Number(trade[0].n)).toBeGreaterThanOrEqual(2);
      // The family group: two members in the group and its chat room, an event tomorrow, photos, an
      // open mission and a voice message stored as AAC in MP4.
      const [family] = await q<{ id: number; memberCount: number; photoCount: number; chatRoomId: number }>(
        "SELECT id, memberCount, photoCount, chatRoomId FROM `groups` WHERE name = 'Kim family'",
      );
      expect(family).toMatchObject({ memberCount: 2, photoCount: 2 });
      const counted = async (sql: string) => Number((await q<{ n: number }>(sql))[0].n);
      expect(await counted(`SELECT COUNT(*) AS n FROM group_members WHERE groupId = ${family.id}`)).toBe(2);
      expect(await counted(`SELECT COUNT(*) AS n FROM chat_members WHERE roomId = ${family.chatRoomId}`)).toBe(2);
      expect(await counted(`SELECT COUNT(*) AS n FROM group_photos WHERE groupId = ${family.id}`)).toBe(2);
      expect(
        await counted(
          `SELECT COUNT(*) AS n FROM group_events WHERE groupId = ${family.id} AND startsAt BETWEEN NOW() AND NOW() + INTERVAL 7 DAY`,
        ),
      ).toBe(1);
      expect(
        await counted(`SELECT COUNT(*) AS n FROM group_missions WHERE groupId = ${family.id} AND status = 'open'`),
      ).toBe(1);
      const voices = await q<{ url: string; durationMs: number }>(
        `SELECT url, durationMs FROM group_voice_messages WHERE groupId = ${family.id}`,
      );
      expect(voices).toHaveLength(1);
      expect(Math.abs(voices[0].durationMs - 4000)).toBeLessThanOrEqual(200);
      const voiceFile = fs.readFileSync(
        `${ctx.uploadDir}/${voices[0].url.replace(`${ctx.config.publicUrl}/uploads/`, '')}`,
      );
      expect((await probe(voiceFile)).streams.map((st) => st.codec_name)).toEqual(['aac']);
    } finally {
      process.env = env;
      await sequelize.close();
    }
  });
});
