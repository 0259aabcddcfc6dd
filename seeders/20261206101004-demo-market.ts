import { QueryTypes, type QueryInterface } from 'sequelize';
import { searchDocument } from '../src/modules/search-text';

/**
 * The quick start's market: a handful of listings within 2 km of Seoul City Hall (where the demo
 * owner looks around), by the sitter and the neighbour and one by the demo owner, one of them
 * reserved; the demo owner made an offer on the neighbour's carrier, which opened their trade chat
 * (type `listing`) with a short exchange. Counters match the rows. The geo index is rebuilt from
 * these rows when the server starts with an empty one.
 */
async function idOf(qi: QueryInterface, email: string): Promise<number> {
  const rows = await qi.sequelize.query<{ id: number }>('SELECT id FROM users WHERE email = ?', {
    replacements: [email],
    type: QueryTypes.SELECT,
  });
  if (!rows[0]) throw new Error(`seed user ${email} is missing: run the demo-users seeder first`);
  return rows[0].id;
}

const LISTINGS = [
  {
    who: 'neighbour',
    title: '소형견 이동장 (거의 새것)',
    description: 'Small dog carrier, used twice. 강아지 이동장, 7 kg까지.',
    category: 'furniture',
    price: 25000,
    at: { lat: 37.5651, lng: 126.9895 },
  },
  {
    who: 'sitter',
    title: '고양이 장난감 세트',
    description: 'Feather wand, balls and a tunnel. 고양이가 안 놀아서 팝니다.',
    category: 'toys',
    price: 8000,
    at: { lat: 37.5702, lng: 126.9768 },
  },
  {
    who: 'neighbour',
    title: 'Grain-free dog food 2 kg (unopened)',
    description: '강아지 사료, 유통기한 2027년. Bori does not like the taste.',
    category: 'food',
    price: 15000,
    at: { lat: 37.5598, lng: 126.9752 },
  },
  {
    who: 'sitter',
    title: '강아지 패딩 조끼 S',
    description: 'Winter vest, size S, washed.',
    category: 'clothes',
    price: 0,
    at: { lat: 37.5677, lng: 126.9826 },
  },
  {
    who: 'demo',
    title: 'Cat tower 120 cm',
    description: '캣타워, 직접 가져가셔야 해요.',
    category: 'furniture',
    price: 30000,
    at: { lat: 37.5633, lng: 126.9741 },
  },
];

export async function up({ context: qi }: { context: QueryInterface }) {
  const users = {
    demo: await idOf(qi, 'demo@pawmate.dev'),
    sitter: await idOf(qi, 'sitter@pawmate.dev'),
    neighbour: await idOf(qi, 'neighbour@pawmate.dev'),
  };
  const insert = async (sql: string, replacements: unknown[]) =>
    Number(((await qi.sequelize.query(sql, { replacements, type: QueryTypes.INSERT })) as unknown as [number])[0]);
  const now = Date.now();
  const ids: number[] = [];
  for (const [i, l] of LISTINGS.entries()) {
    const at = new Date(now - (LISTINGS.length - i) * 3600_000);
    ids.push(
      await insert(
        `INSERT INTO market_listings (sellerId, title, description, category, price, lat, lng, address, searchText, createdAt, updatedAt)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'Jung-gu, Seoul', ?, ?, ?)`,
        [
          users[l.who as keyof typeof users],
          l.title,
          l.description,
          l.category,
          l.price,
          l.at.lat,
          l.at.lng,
          searchDocument(l.title, l.description),
          at,
          at,
        ],
      ),
    );
  }
  await qi.sequelize.query(
    'INSERT IGNORE INTO market_sellers (userId, createdAt) VALUES (?, NOW(3)), (?, NOW(3)), (?, NOW(3))',
    { replacements: [users.demo, users.sitter, users.neighbour] },
  );

  // The demo owner's offer on the carrier, its trade chat, and the neighbour's favourite of the cat tower.
  const carrier = ids[0];
  const at = new Date(now - 30 * 60_000);
  const roomId = await insert(
    `INSERT INTO chat_rooms (type, listingId, listingBuyerId, lastActivityAt, createdAt, updatedAt)
     VALUES ('listing', ?, ?, ?, ?, ?)`,
    [carrier, users.demo, at, at, at],
  );
  for (const member of [users.demo, users.neighbour])
    await qi.sequelize.query('INSERT INTO chat_members (roomId, userId, createdAt, updatedAt) VALUES (?, ?, ?, ?)', {
      replacements: [roomId, member, at, at],
    });
  await qi.sequelize.query(
    'INSERT INTO market_offers (listingId, buyerId, price, message, chatRoomId, createdAt) VALUES (?, ?, ?, ?, ?, ?)',
    { replacements: [carrier, users.demo, 22000, '22,000원에 가능할까요?', roomId, at] },
  );
  await qi.sequelize.query('UPDATE market_listings SET offerCount = 1 WHERE id = ?', { replacements: [carrier] });
  let last = 0;
  for (const [k, [who, body]] of (
    [
      [users.demo, '안녕하세요! 이동장 아직 있나요? 22,000원에 가능할까요?'],
      [users.neighbour, '네 있어요. 23,000원이면 드릴게요. 시청역 근처 괜찮으세요?'],
      [users.demo, 'Deal! 내일 저녁 7시 어떠세요?'],
    ] as const
  ).entries()) {
    const sent = new Date(at.getTime() + (k + 1) * 60_000);
    last = await insert(
      'INSERT INTO chat_messages (roomId, senderId, body, clientId, createdAt) VALUES (?, ?, ?, ?, ?)',
      [roomId, who, body, `demo-market-${k}`, sent],
    );
    await qi.sequelize.query('UPDATE chat_rooms SET lastMessageId = ?, lastActivityAt = ? WHERE id = ?', {
      replacements: [last, sent, roomId],
    });
  }
  // The neighbour reserved the carrier for the demo owner.
  await qi.sequelize.query("UPDATE market_listings SET status = 'reserved', buyerId = ? WHERE id = ?", {
    replacements: [users.demo, carrier],
  });
  await qi.sequelize.query('INSERT INTO market_favorites (listingId, userId, createdAt) VALUES (?, ?, NOW(3))', {
    replacements: [ids[4], users.neighbour],
  });
  await qi.sequelize.query('UPDATE market_listings SET favoriteCount = 1 WHERE id = ?', { replacements: [ids[4]] });
}

export async function down({ context: qi }: { context: QueryInterface }) {
  const emails = ['demo@pawmate.dev', 'sitter@pawmate.dev', 'neighbour@pawmate.dev'];
  await qi.sequelize.query(
    `DELETE r FROM chat_rooms r JOIN market_listings l ON l.id = r.listingId JOIN users u ON u.id = l.sellerId
      WHERE r.type = 'listing' AND u.email IN (?)`,
    { replacements: [emails] },
  );
  await qi.sequelize.query(`DELETE l FROM market_listings l JOIN users u ON u.id = l.sellerId WHERE u.email IN (?)`, {
    replacements: [emails],
  });
}
