import sharp from 'sharp';
import { QueryTypes, type QueryInterface } from 'sequelize';
import { loadConfig } from '../src/config';
import { createStorage } from '../src/infra/storage';
import { ImagePipeline, PRESETS } from '../src/infra/images/pipeline';
import { newKey } from '../src/infra/storage/keys';
import { zonedInstant } from '../src/infra/zoned-time';
import { addDays, dayIn } from '../src/modules/sitters/sitters.days';

/**
 * The quick start's family group: the demo owner's "Kim family" with two members (Minseo as an
 * admin, Jiwoo as a member), its group chat room, a walk this week and an all-day vet visit, two
 * photos with a like and a comment, and an open mission. Counters match the rows. Photos are rendered
 * by the upload pipeline (1600 px + 320 px WebP) into the configured storage; without a usable
 * storage the gallery stays empty.
 */
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

async function idOf(qi: QueryInterface, email: string): Promise<number> {
  const rows = await qi.sequelize.query<{ id: number }>('SELECT id FROM users WHERE email = ?', {
    replacements: [email],
    type: QueryTypes.SELECT,
  });
  if (!rows[0]) throw new Error(`seed user ${email} is missing: run the demo-users seeder first`);
  return rows[0].id;
}

async function renderPhoto(groupId: number, color: string) {
  try {
    const storage = createStorage(loadConfig(process.env));
    const input = await sharp({ create: { width: 1800, height: 1200, channels: 3, background: color } })
      .jpeg()
      .toBuffer();
    const [photo, thumb] = await new ImagePipeline().render(input, PRESETS.postPhoto);
    // Rows keep storage keys; answers build the URLs (src/http/image-urls.ts).
    const put = async (r: typeof photo) => {
      const key = newKey(`groups/${groupId}`, 'webp', r.variant);
      await storage.put(key, r.body, r.contentType);
      return key;
    };
    return { url: await put(photo), thumbnailUrl: await put(thumb) };
  } catch {
    return null;
  }
}

export async function up({ context: qi }: { context: QueryInterface }) {
  const demo = await idOf(qi, 'demo@pawmate.dev');
  const neighbour = await idOf(qi, 'neighbour@pawmate.dev');
  const sitter = await idOf(qi, 'sitter@pawmate.dev');
  const insert = async (sql: string, replacements: unknown[]) =>
    Number(((await qi.sequelize.query(sql, { replacements, type: QueryTypes.INSERT })) as unknown as [number])[0]);
  const q = (sql: string, replacements: unknown[]) => qi.sequelize.query(sql, { replacements });
  const now = new Date();
  const members: [number, 'owner' | 'admin' | 'member'][] = [
    [demo, 'owner'],
    [neighbour, 'admin'],
    [sitter, 'member'],
  ];

  const groupId = await insert(
    'INSERT INTO `groups` (name, description, ownerId, memberCount, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',
    ['Kim family', 'Walks, vets and photos of Coco, Bori and Nabi.', demo, members.length, now, now],
  );
  const roomId = await insert(
    `INSERT INTO chat_rooms (type, groupId, lastActivityAt, createdAt, updatedAt) VALUES ('group', ?, ?, ?, ?)`,
    [groupId, now, now, now],
  );
  await q('UPDATE `groups` SET chatRoomId = ? WHERE id = ?', [roomId, groupId]);
  for (const [userId, role] of members) {
    await q('INSERT INTO group_members (groupId, userId, role, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)', [
      groupId,
      userId,
      role,
      now,
      now,
    ]);
    await q('INSERT INTO chat_members (roomId, userId, createdAt, updatedAt) VALUES (?, ?, ?, ?)', [
      roomId,
      userId,
      now,
      now,
    ]);
  }

  // A walk tomorrow evening (reminded an hour before) and an all-day vet visit in three days.
  const walk = new Date(Math.ceil((now.getTime() + DAY) / HOUR) * HOUR);
  await q(
    `INSERT INTO group_events (groupId, title, description, startsAt, endsAt, allDay, location, createdById, remindAt,
       createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)`,
    [
      groupId,
      'Evening walk at Hangang park',
      'Bring water for Coco.',
      walk,
      new Date(walk.getTime() + HOUR),
      'Mangwon Hangang Park',
      neighbour,
      new Date(walk.getTime() - HOUR),
      now,
      now,
    ],
  );
  const tz = process.env.SERVICE_TZ || 'Asia/Seoul';
  const vetDay = dayIn(new Date(now.getTime() + 3 * DAY), tz);
  const dayStart = zonedInstant(vetDay, 0, 0, tz);
  await q(
    `INSERT INTO group_events (groupId, title, description, startsAt, endsAt, allDay, startDate, endDate, location,
       createdById, remindAt, createdAt, updatedAt) VALUES (?, ?, '', ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)`,
    [
      groupId,
      'Vaccinations for Bori',
      dayStart,
      new Date(zonedInstant(addDays(vetDay, 1), 0, 0, tz).getTime() - 1),
      vetDay,
      vetDay,
      'Mapo animal clinic',
      demo,
      zonedInstant(addDays(vetDay, -1), 9, 0, tz),
      now,
      now,
    ],
  );

  // Two photos, one liked and commented.
  const photoIds: number[] = [];
  for (const [author, color, caption] of [
    [demo, '#2a9d8f', 'Coco at the river'],
    [neighbour, '#f4a261', 'Nabi in her box'],
  ] as const) {
    const photo = await renderPhoto(groupId, color);
    if (!photo) continue;
    photoIds.push(
      await insert(
        'INSERT INTO group_photos (groupId, authorId, url, thumbnailUrl, caption, createdAt) VALUES (?, ?, ?, ?, ?, ?)',
        [groupId, author, photo.url, photo.thumbnailUrl, caption, now],
      ),
    );
  }
  if (photoIds.length) {
    await q('UPDATE `groups` SET photoCount = ? WHERE id = ?', [photoIds.length, groupId]);
    await q('INSERT INTO group_photo_likes (photoId, userId, createdAt) VALUES (?, ?, ?), (?, ?, ?)', [
      photoIds[0],
      neighbour,
      now,
      photoIds[0],
      sitter,
      now,
    ]);
    await q('INSERT INTO group_photo_comments (photoId, authorId, body, createdAt) VALUES (?, ?, ?, ?)', [
      photoIds[0],
      sitter,
      '너무 귀여워요!',
      now,
    ]);
    await q('UPDATE group_photos SET likeCount = 2, commentCount = 1 WHERE id = ?', [photoIds[0]]);
  }

  // An open mission for the owner and Minseo; the owner has done their part.
  const dueDate = new Date(now.getTime() + 2 * DAY).toISOString().slice(0, 10);
  const missionId = await insert(
    `INSERT INTO group_missions (groupId, title, dueDate, forEveryone, status, createdById, createdAt, updatedAt)
     VALUES (?, ?, ?, 0, 'open', ?, ?, ?)`,
    [groupId, 'Buy Bori’s food (10 kg bag)', dueDate, demo, now, now],
  );
  await q('INSERT INTO group_mission_assignees (missionId, userId) VALUES (?, ?), (?, ?)', [
    missionId,
    demo,
    missionId,
    neighbour,
  ]);
  await q('INSERT INTO group_mission_completions (missionId, userId, completedAt) VALUES (?, ?, ?)', [
    missionId,
    demo,
    now,
  ]);
}

export async function down({ context: qi }: { context: QueryInterface }) {
  await qi.sequelize.query(
    `DELETE r FROM chat_rooms r JOIN \`groups\` g ON g.id = r.groupId JOIN users u ON u.id = g.ownerId
      WHERE u.email = 'demo@pawmate.dev'`,
  );
  await qi.sequelize.query(
    "DELETE g FROM `groups` g JOIN users u ON u.id = g.ownerId WHERE u.email = 'demo@pawmate.dev'",
  );
}
