import sharp from 'sharp';
import { QueryTypes, type QueryInterface } from 'sequelize';
import { loadConfig } from '../src/config';
import { createStorage } from '../src/infra/storage';
import { newKey } from '../src/infra/storage/keys';
import type { Storage } from '../src/infra/storage/storage';
import { ImagePipeline, PRESETS } from '../src/infra/images/pipeline';
import { AudioPipeline } from '../src/infra/audio/pipeline';

/**
 * The quick start's family space: the demo owner's group "Kim family" with the neighbour as a
 * member, its group chat room, a walk on the calendar tomorrow evening, two photos, an open mission
 * for everyone and a short voice message from the neighbour (a generated chime, transcoded to AAC in
 * MP4 by the real pipeline). Without FFmpeg or a usable storage the group is seeded without the
 * files that need them, and says so.
 */
async function idOf(qi: QueryInterface, email: string): Promise<number> {
  const rows = await qi.sequelize.query<{ id: number }>('SELECT id FROM users WHERE email = ?', {
    replacements: [email],
    type: QueryTypes.SELECT,
  });
  if (!rows[0]) throw new Error(`seed user ${email} is missing: run the demo-users seeder first`);
  return rows[0].id;
}

/** A two-note chime (E5, C5) with a soft envelope, as 16-bit mono WAV at 16 kHz. */
function chime(seconds = 4, rate = 16_000): Buffer {
  const samples = seconds * rate;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const t = i / rate;
    const note = t % 1 < 0.5 ? 659.25 : 523.25;
    const envelope = Math.exp(-4 * (t % 0.5)) * 0.5;
    data.writeInt16LE(Math.round(Math.sin(2 * Math.PI * note * t) * envelope * 32767), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

function storage(): Storage | null {
  try {
    return createStorage(loadConfig(process.env));
  } catch {
    return null;
  }
}

async function photo(store: Storage, groupId: number, color: string) {
  const input = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: color } })
    .jpeg()
    .toBuffer();
  const [full, thumb] = await new ImagePipeline().render(input, PRESETS.postPhoto);
  const put = (r: typeof full) => store.put(newKey(`groups/${groupId}`, 'webp', r.variant), r.body, r.contentType);
  return { url: await put(full), thumbnailUrl: await put(thumb) };
}

async function voice(store: Storage, groupId: number) {
  const pipeline = new AudioPipeline();
  const found = await pipeline.detect();
  if (!found.ok) {
    process.stdout.write(`demo: ${found.reason}; the family group gets no voice message\n`);
    return null;
  }
  const audio = await pipeline.transcode(chime());
  const url = await store.put(newKey(`voice/${groupId}`, 'm4a'), audio.body, audio.contentType);
  return { url, durationMs: Math.round(audio.durationSec * 1000), bytes: audio.body.length };
}

export async function up({ context: qi }: { context: QueryInterface }) {
  const demo = await idOf(qi, 'demo@pawmate.dev');
  const neighbour = await idOf(qi, 'neighbour@pawmate.dev');
  const insert = async (sql: string, replacements: unknown[]) =>
    Number(((await qi.sequelize.query(sql, { replacements, type: QueryTypes.INSERT })) as unknown as [number])[0]);
  const q = (sql: string, replacements: unknown[]) => qi.sequelize.query(sql, { replacements });
  const now = new Date();
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3600_000);

  const created = hoursAgo(72);
  const groupId = await insert(
    'INSERT INTO `groups` (name, description, ownerId, memberCount, createdAt, updatedAt) VALUES (?, ?, ?, 2, ?, ?)',
    ['Kim family', 'Bori and Nabi: walks, vet visits and photos', demo, created, created],
  );
  for (const [userId, role] of [
    [demo, 'owner'],
    [neighbour, 'member'],
  ] as const) {
    await q('INSERT INTO group_members (groupId, userId, role, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?)', [
      groupId,
      userId,
      role,
      created,
      created,
    ]);
  }
  const roomId = await insert(
    "INSERT INTO chat_rooms (type, groupId, lastActivityAt, createdAt, updatedAt) VALUES ('group', ?, ?, ?, ?)",
    [groupId, created, created, created],
  );
  for (const userId of [demo, neighbour]) {
    await q('INSERT INTO chat_members (roomId, userId, createdAt, updatedAt) VALUES (?, ?, ?, ?)', [
      roomId,
      userId,
      created,
      created,
    ]);
  }
  await q('UPDATE `groups` SET chatRoomId = ? WHERE id = ?', [roomId, groupId]);

  // Tomorrow at 18:00 in Seoul (UTC+9, no daylight saving): 09:00 UTC.
  const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 9));
  await q(
    `INSERT INTO group_events (groupId, title, description, startsAt, endsAt, allDay, startDate, endDate, location,
       createdById, remindAt, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?, ?, ?, ?)`,
    [
      groupId,
      'Evening walk with Bori',
      'Whoever is home first takes the lead.',
      tomorrow,
      new Date(tomorrow.getTime() + 3600_000),
      'Mangwon Hangang Park',
      demo,
      new Date(tomorrow.getTime() - 3600_000),
      hoursAgo(20),
      hoursAgo(20),
    ],
  );
  await q(
    `INSERT INTO group_missions (groupId, title, dueDate, forEveryone, status, createdById, createdAt, updatedAt)
     VALUES (?, ?, NULL, 1, 'open', ?, ?, ?)`,
    [groupId, 'Brush Nabi this week', demo, hoursAgo(30), hoursAgo(30)],
  );

  const store = storage();
  if (!store) {
    process.stdout.write('demo: no usable storage configuration; the family group has no photos or voice message\n');
    return;
  }
  const photos = [
    { by: demo, color: '#8ecae6', caption: 'Bori after the rain', at: hoursAgo(48) },
    { by: neighbour, color: '#ffb703', caption: 'Nabi claimed the new blanket', at: hoursAgo(6) },
  ];
  let photoCount = 0;
  for (const p of photos) {
    const stored = await photo(store, groupId, p.color).catch(() => null);
    if (!stored) continue;
    await q(
      'INSERT INTO group_photos (groupId, authorId, url, thumbnailUrl, caption, createdAt) VALUES (?, ?, ?, ?, ?, ?)',
      [groupId, p.by, stored.url, stored.thumbnailUrl, p.caption, p.at],
    );
    photoCount++;
  }
  await q('UPDATE `groups` SET photoCount = ? WHERE id = ?', [photoCount, groupId]);

  const message = await voice(store, groupId).catch((err: Error) => {
    process.stdout.write(`demo: the voice message could not be made (${err.message})\n`);
    return null;
  });
  if (message) {
    await q(
      `INSERT INTO group_voice_messages (groupId, authorId, url, durationMs, bytes, title, createdAt)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        groupId,
        neighbour,
        message.url,
        message.durationMs,
        message.bytes,
        'Running late, start without me',
        hoursAgo(2),
      ],
    );
  }
}

export async function down({ context: qi }: { context: QueryInterface }) {
  const rows = await qi.sequelize.query<{ id: number; chatRoomId: number | null }>(
    "SELECT g.id, g.chatRoomId FROM `groups` g JOIN users u ON u.id = g.ownerId WHERE u.email = 'demo@pawmate.dev' AND g.name = 'Kim family'",
    { type: QueryTypes.SELECT },
  );
  for (const g of rows) {
    await qi.sequelize.query('DELETE FROM `groups` WHERE id = ?', { replacements: [g.id] });
    if (g.chatRoomId) await qi.sequelize.query('DELETE FROM chat_rooms WHERE id = ?', { replacements: [g.chatRoomId] });
  }
}
