import { QueryTypes, type QueryInterface } from 'sequelize';
import bcrypt from 'bcrypt';
import { DEMO_PASSWORD } from './20261201000100-demo-users';

/**
 * The quick start's neighbourhood: the demo owner's pets, 30 sitters around Seoul (the demo sitter
 * among them, near Hangang park), a direct chat between owner and sitter, and a walk next week hosted
 * by the neighbour. Plain SQL in the shape the migrations define; the geo index is rebuilt from these
 * rows by `npm run geo:reindex` (the demo script runs it).
 */
const SEOUL = { lat: 37.5665, lng: 126.978 };
const DISTRICTS = ['Mapo-gu', 'Yongsan-gu', 'Jongno-gu', 'Seongdong-gu', 'Gangnam-gu', 'Songpa-gu'];

async function idOf(qi: QueryInterface, email: string): Promise<number> {
  const rows = await qi.sequelize.query<{ id: number }>('SELECT id FROM users WHERE email = ?', {
    replacements: [email],
    type: QueryTypes.SELECT,
  });
  if (!rows[0]) throw new Error(`seed user ${email} is missing: run the demo-users seeder first`);
  return rows[0].id;
}

export async function up({ context: qi }: { context: QueryInterface }) {
  const now = new Date();
  const owner = await idOf(qi, 'demo@pawmate.dev');
  const sitterUser = await idOf(qi, 'sitter@pawmate.dev');
  const neighbour = await idOf(qi, 'neighbour@pawmate.dev');

  await qi.bulkInsert('pets', [
    {
      ownerId: owner,
      name: 'Bori',
      species: 'dog',
      breed: 'Corgi',
      size: 'small',
      birthDate: '2021-04-02',
      notes: 'Loves tennis balls',
      createdAt: now,
      updatedAt: now,
    },
    {
      ownerId: owner,
      name: 'Kong',
      species: 'dog',
      breed: 'Jindo',
      size: 'medium',
      birthDate: '2019-09-15',
      notes: null,
      createdAt: now,
      updatedAt: now,
    },
    {
      ownerId: owner,
      name: 'Nabi',
      species: 'cat',
      breed: null,
      size: 'small',
      birthDate: null,
      notes: 'Indoor only',
      createdAt: now,
      updatedAt: now,
    },
  ]);

  const hash = await bcrypt.hash(DEMO_PASSWORD, Number(process.env.BCRYPT_COST ?? 10));
  const sitterUsers = [sitterUser];
  for (let i = 1; i < 30; i++) {
    const email = `sitter${i}@pawmate.dev`;
    await qi.bulkInsert('users', [
      {
        email,
        passwordHash: hash,
        nickname: `Sitter ${i}`,
        bio: 'Neighbourhood pet sitter',
        emailVerifiedAt: now,
        isSitter: true,
        createdAt: now,
        updatedAt: now,
      },
    ]);
    sitterUsers.push(await idOf(qi, email));
  }
  await qi.sequelize.query('UPDATE users SET isSitter = 1 WHERE id = ?', { replacements: [sitterUser] });

  // Deterministic spread over ~8 km around City Hall, so every run shows the same map.
  const rows = sitterUsers.map((userId, i) => {
    const angle = (i * 137.5 * Math.PI) / 180;
    const km = i === 0 ? 2.5 : 0.6 + (i % 10) * 0.75;
    const lat = SEOUL.lat + (km / 111.2) * Math.cos(angle);
    const lng = SEOUL.lng + (km / (111.2 * Math.cos((SEOUL.lat * Math.PI) / 180))) * Math.sin(angle);
    const walking = 15_000 + (i % 5) * 2_000;
    const boarding = i % 3 === 0 ? null : 35_000 + (i % 4) * 5_000;
    return {
      userId,
      headline: i === 0 ? 'Dog walker near Hangang park' : `Caring sitter in ${DISTRICTS[i % DISTRICTS.length]}`,
      bio: 'Fenced yard, daily photo updates, first-aid trained.',
      boardingPrice: boarding,
      daycarePrice: i % 2 ? 25_000 : null,
      walkingPrice: walking,
      dropInPrice: null,
      minPrice: Math.min(walking, ...(boarding ? [boarding] : []), ...(i % 2 ? [25_000] : [])),
      acceptsSmall: true,
      acceptsMedium: i % 2 === 0,
      acceptsLarge: i % 4 === 0,
      maxPets: 1 + (i % 3),
      lat,
      lng,
      address: `${DISTRICTS[i % DISTRICTS.length]}, Seoul`,
      rating: null,
      reviewCount: 0,
      active: true,
      geoVersion: 1,
      createdAt: now,
      updatedAt: now,
    };
  });
  await qi.bulkInsert('sitters', rows);

  // A direct chat between the demo owner and the demo sitter.
  const [low, high] = [Math.min(owner, sitterUser), Math.max(owner, sitterUser)];
  await qi.bulkInsert('chat_rooms', [
    { type: 'direct', userLowId: low, userHighId: high, lastActivityAt: now, createdAt: now, updatedAt: now },
  ]);
  const [room] = await qi.sequelize.query<{ id: number }>(
    'SELECT id FROM chat_rooms WHERE userLowId = ? AND userHighId = ?',
    {
      replacements: [low, high],
      type: QueryTypes.SELECT,
    },
  );
  await qi.bulkInsert('chat_members', [
    { roomId: room.id, userId: owner, createdAt: now, updatedAt: now },
    { roomId: room.id, userId: sitterUser, createdAt: now, updatedAt: now },
  ]);
  await qi.bulkInsert('chat_messages', [
    {
      roomId: room.id,
      senderId: owner,
      body: 'Hi! Are you free to walk Bori next Saturday?',
      clientId: 'demo-1',
      createdAt: now,
    },
    {
      roomId: room.id,
      senderId: sitterUser,
      body: 'Yes, happy to. Morning or afternoon?',
      clientId: 'demo-2',
      createdAt: now,
    },
  ]);
  const [last] = await qi.sequelize.query<{ id: number }>('SELECT MAX(id) AS id FROM chat_messages WHERE roomId = ?', {
    replacements: [room.id],
    type: QueryTypes.SELECT,
  });
  await qi.sequelize.query('UPDATE chat_rooms SET lastMessageId = ? WHERE id = ?', {
    replacements: [last.id, room.id],
  });

  // A walk next week at Hangang park, hosted by the neighbour, with its chat room.
  const startsAt = new Date(now.getTime() + 7 * 86_400_000);
  startsAt.setUTCHours(0, 0, 0, 0); // 09:00 in Seoul
  const endsAt = new Date(startsAt.getTime() + 2 * 3600_000);
  await qi.bulkInsert('meetups', [
    {
      hostId: neighbour,
      title: 'Saturday morning walk at Yeouido Hangang Park',
      description: 'Easy 5 km loop, all sizes welcome. Bring water.',
      lat: 37.5284,
      lng: 126.9327,
      address: 'Yeouido Hangang Park, Seoul',
      startsAt,
      endsAt,
      capacity: 12,
      participantCount: 1,
      tagsJson: JSON.stringify(['walk', 'small-dogs']),
      status: 'scheduled',
      geoIndexed: true,
      geoVersion: 1,
      createdAt: now,
      updatedAt: now,
    },
  ]);
  const [meetup] = await qi.sequelize.query<{ id: number }>(
    'SELECT id FROM meetups WHERE hostId = ? ORDER BY id DESC LIMIT 1',
    {
      replacements: [neighbour],
      type: QueryTypes.SELECT,
    },
  );
  await qi.bulkInsert('meetup_tags', [
    { meetupId: meetup.id, tag: 'walk' },
    { meetupId: meetup.id, tag: 'small-dogs' },
  ]);
  await qi.bulkInsert('meetup_participants', [{ meetupId: meetup.id, userId: neighbour, joinedAt: now }]);
  await qi.bulkInsert('chat_rooms', [
    { type: 'meetup', meetupId: meetup.id, lastActivityAt: now, createdAt: now, updatedAt: now },
  ]);
  const [meetupRoom] = await qi.sequelize.query<{ id: number }>('SELECT id FROM chat_rooms WHERE meetupId = ?', {
    replacements: [meetup.id],
    type: QueryTypes.SELECT,
  });
  await qi.bulkInsert('chat_members', [{ roomId: meetupRoom.id, userId: neighbour, createdAt: now, updatedAt: now }]);
  await qi.sequelize.query('UPDATE meetups SET chatRoomId = ? WHERE id = ?', {
    replacements: [meetupRoom.id, meetup.id],
  });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  const users = await qi.sequelize.query<{ id: number }>("SELECT id FROM users WHERE email LIKE '%@pawmate.dev'", {
    type: QueryTypes.SELECT,
  });
  const ids = users.map((u) => u.id);
  if (!ids.length) return;
  await qi.sequelize.query(
    'DELETE FROM chat_rooms WHERE userLowId IN (?) OR meetupId IN (SELECT id FROM meetups WHERE hostId IN (?))',
    { replacements: [ids, ids] },
  );
  await qi.sequelize.query('DELETE FROM meetups WHERE hostId IN (?)', { replacements: [ids] });
  await qi.sequelize.query('DELETE FROM sitters WHERE userId IN (?)', { replacements: [ids] });
  await qi.sequelize.query('DELETE FROM pets WHERE ownerId IN (?)', { replacements: [ids] });
  await qi.sequelize.query(
    "DELETE FROM users WHERE email LIKE 'sitter_%@pawmate.dev' AND email <> 'sitter@pawmate.dev'",
  );
}
