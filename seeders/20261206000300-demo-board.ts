import sharp from 'sharp';
import { QueryTypes, type QueryInterface } from 'sequelize';
import { loadConfig } from '../src/config';
import { createStorage } from '../src/infra/storage';
import { ImagePipeline, PRESETS } from '../src/infra/images/pipeline';
import { newKey } from '../src/infra/storage/keys';
import { prefixKeys, searchDocument } from '../src/modules/search-text';

/**
 * The quick start's board: a few posts (Korean and English, one open chat, two with a place near
 * Hangang park, two with photos), comments with a reply, and likes, with counters that match the
 * rows. Photos are rendered by the same pipeline as uploads (1600 px + 320 px WebP) into the
 * configured storage; without a usable storage configuration the posts are seeded without them.
 */
async function idOf(qi: QueryInterface, email: string): Promise<number> {
  const rows = await qi.sequelize.query<{ id: number }>('SELECT id FROM users WHERE email = ?', {
    replacements: [email],
    type: QueryTypes.SELECT,
  });
  if (!rows[0]) throw new Error(`seed user ${email} is missing: run the demo-users seeder first`);
  return rows[0].id;
}

const POSTS = [
  {
    who: 'demo',
    kind: 'walk_route',
    title: '망원 한강공원 산책로 추천',
    body: '강아지랑 저녁 산책하기 좋은 코스예요. 약 3 km, 물 마실 곳도 있어요.',
    tags: ['산책', 'walk'],
    at: { lat: 37.5556, lng: 126.8947 },
    photo: '#7fb069',
  },
  {
    who: 'neighbour',
    kind: 'question',
    title: 'Which harness for a small corgi?',
    body: 'Bori pulls a lot on walks. Any harness you would recommend?',
    tags: ['puppy', 'walk'],
    at: null,
    photo: null,
  },
  {
    who: 'sitter',
    kind: 'open_chat',
    title: '마포구 강아지 보호자 모임 채팅',
    body: 'Open chat for dog owners in Mapo-gu: walks, vets, lost and found.',
    tags: ['마포', 'chat'],
    at: { lat: 37.5563, lng: 126.9236 },
    photo: null,
  },
  {
    who: 'demo',
    kind: 'general',
    title: 'Nabi found the sunny spot again',
    body: '고양이는 오늘도 창가에서 낮잠 중.',
    tags: ['cat'],
    at: null,
    photo: '#e9c46a',
  },
];

async function renderPhoto(color: string) {
  try {
    const config = loadConfig(process.env);
    const storage = createStorage(config);
    const input = await sharp({ create: { width: 1800, height: 1200, channels: 3, background: color } })
      .jpeg()
      .toBuffer();
    const [photo, thumb] = await new ImagePipeline().render(input, PRESETS.postPhoto);
    const put = (r: typeof photo) => storage.put(newKey('posts/demo', 'webp', r.variant), r.body, r.contentType);
    return { url: await put(photo), thumbnailUrl: await put(thumb) };
  } catch {
    return null;
  }
}

export async function up({ context: qi }: { context: QueryInterface }) {
  const users = {
    demo: await idOf(qi, 'demo@pawmate.dev'),
    sitter: await idOf(qi, 'sitter@pawmate.dev'),
    neighbour: await idOf(qi, 'neighbour@pawmate.dev'),
  };
  const q = (sql: string, replacements: unknown[]) => qi.sequelize.query(sql, { replacements });
  const now = Date.now();
  const ids: number[] = [];
  for (const [i, p] of POSTS.entries()) {
    const at = new Date(now - (POSTS.length - i) * 3600 * 1000);
    const [id] = (await qi.sequelize.query(
      `INSERT INTO posts (authorId, kind, title, body, tagsJson, lat, lng, address, searchText, createdAt, updatedAt)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      {
        replacements: [
          users[p.who as keyof typeof users],
          p.kind,
          p.title,
          p.body,
          JSON.stringify(p.tags),
          p.at?.lat ?? null,
          p.at?.lng ?? null,
          p.at ? 'Mapo-gu, Seoul' : null,
          searchDocument(p.title, p.body),
          at,
          at,
        ],
        type: QueryTypes.INSERT,
      },
    )) as unknown as [number];
    ids.push(Number(id));
    for (const tag of p.tags) await q('INSERT INTO post_tags (postId, tag, createdAt) VALUES (?, ?, ?)', [id, tag, at]);
    // The word-prefix rows that `q` walks (written with the post, as the app does).
    for (const key of prefixKeys(p.title, p.body))
      await q('INSERT IGNORE INTO post_word_prefixes (prefix, createdAt, postId) VALUES (?, ?, ?)', [key, at, id]);
    const photo = p.photo ? await renderPhoto(p.photo) : null;
    if (photo) {
      await q('INSERT INTO post_photos (postId, url, thumbnailUrl, createdAt) VALUES (?, ?, ?, ?)', [
        id,
        photo.url,
        photo.thumbnailUrl,
        at,
      ]);
      await q('UPDATE posts SET photoCount = 1 WHERE id = ?', [id]);
    }
    if (p.kind === 'open_chat') {
      const [roomId] = (await qi.sequelize.query(
        `INSERT INTO chat_rooms (type, postId, lastActivityAt, createdAt, updatedAt) VALUES ('post', ?, ?, ?, ?)`,
        { replacements: [id, at, at, at], type: QueryTypes.INSERT },
      )) as unknown as [number];
      for (const member of [users.sitter, users.demo])
        await q('INSERT INTO chat_members (roomId, userId, createdAt, updatedAt) VALUES (?, ?, ?, ?)', [
          roomId,
          member,
          at,
          at,
        ]);
      await q('UPDATE posts SET chatRoomId = ? WHERE id = ?', [roomId, id]);
    }
  }
  // Comments (one with a reply) and likes; counters and today's activity bucket follow the rows.
  const day = new Date().toISOString().slice(0, 10);
  const comment = async (postId: number, who: number, body: string, parentId: number | null = null) => {
    const [cid] = (await qi.sequelize.query(
      'INSERT INTO post_comments (postId, parentId, authorId, body, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',
      { replacements: [postId, parentId, who, body, new Date(), new Date()], type: QueryTypes.INSERT },
    )) as unknown as [number];
    await q('UPDATE posts SET commentCount = commentCount + 1, recentScore = recentScore + 1 WHERE id = ?', [postId]);
    if (parentId) await q('UPDATE post_comments SET replyCount = replyCount + 1 WHERE id = ?', [parentId]);
    await q(
      'INSERT INTO post_activity (postId, day, score) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE score = score + 1',
      [postId, day],
    );
    return Number(cid);
  };
  const first = await comment(ids[1], users.sitter, 'A Y-shaped front-clip harness helps with pulling.');
  await comment(ids[1], users.demo, '고마워요! 바로 찾아볼게요.', first);
  await comment(ids[0], users.neighbour, '저도 이 코스 좋아해요. 같이 걸어요!');
  for (const [postId, likers] of [
    [ids[0], [users.neighbour, users.sitter]],
    [ids[1], [users.demo]],
    [ids[2], [users.demo, users.neighbour]],
  ] as const) {
    for (const u of likers)
      await q('INSERT INTO post_likes (postId, userId, createdAt) VALUES (?, ?, ?)', [postId, u, new Date()]);
    await q('UPDATE posts SET likeCount = ?, recentScore = recentScore + ? WHERE id = ?', [
      likers.length,
      likers.length,
      postId,
    ]);
    await q(
      'INSERT INTO post_activity (postId, day, score) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE score = score + VALUES(score)',
      [postId, day, likers.length],
    );
  }
}

export async function down({ context: qi }: { context: QueryInterface }) {
  const emails = ['demo@pawmate.dev', 'sitter@pawmate.dev', 'neighbour@pawmate.dev'];
  await qi.sequelize.query(`DELETE p FROM posts p JOIN users u ON u.id = p.authorId WHERE u.email IN (?)`, {
    replacements: [emails],
  });
}
