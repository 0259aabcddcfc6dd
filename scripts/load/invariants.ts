import mysql from 'mysql2/promise';
import type { ChatPairResult, NotificationStream } from './realtime';

/** What must hold in MySQL (and in what the clients saw) after a load run, each with its figures. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

type Conn = mysql.Connection;

async function rows<T>(conn: Conn, sql: string, params: unknown[] = []): Promise<T[]> {
  const [r] = await conn.query(sql, params);
  return r as T[];
}

/** Side effects go through the outbox: the checks wait until it has nothing left to do. */
export async function waitForOutbox(databaseUrl: string, timeoutMs = 60_000): Promise<number> {
  const conn = await mysql.createConnection({ uri: databaseUrl });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [{ n }] = await rows<{ n: number }>(conn, 'SELECT COUNT(*) AS n FROM outbox WHERE processedAt IS NULL');
      if (Number(n) === 0 || Date.now() > deadline) return Number(n);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await conn.end();
  }
}

const dayList = (start: string, end: string): string[] => {
  const out: string[] = [];
  for (let t = Date.parse(`${start}T00:00:00Z`); t <= Date.parse(`${end}T00:00:00Z`); t += 86_400_000)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
};
const ymd = (d: unknown) => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

export async function checkInvariants(
  databaseUrl: string,
  chat: ChatPairResult[],
  streams: NotificationStream[],
): Promise<Check[]> {
  const conn = await mysql.createConnection({ uri: databaseUrl, dateStrings: true });
  const checks: Check[] = [];
  try {
    // 1. No sitter holds more accepted pets on a day than maxPets, recomputed from the reservations.
    const accepted = await rows<{
      sitterId: number;
      startDate: string;
      endDate: string;
      petCount: number;
      maxPets: number;
    }>(
      conn,
      "SELECT r.sitterId, r.startDate, r.endDate, r.petCount, s.maxPets FROM reservations r JOIN sitters s ON s.id = r.sitterId WHERE r.status = 'accepted'",
    );
    const perDay = new Map<string, { pets: number; max: number }>();
    for (const r of accepted) {
      for (const d of dayList(ymd(r.startDate), ymd(r.endDate))) {
        const k = `${r.sitterId}:${d}`;
        const e = perDay.get(k) ?? { pets: 0, max: r.maxPets };
        e.pets += Number(r.petCount);
        perDay.set(k, e);
      }
    }
    const overbooked = [...perDay.values()].filter((e) => e.pets > e.max).length;
    const [{ total }] = await rows<{ total: number }>(conn, 'SELECT COUNT(*) AS total FROM reservations');
    checks.push({
      name: 'no overbooked day',
      ok: overbooked === 0,
      detail: `${overbooked} overbooked of ${perDay.size} booked sitter-days (${accepted.length} accepted of ${total} reservations)`,
    });

    // 2. Chat: no duplicate (room, sender, clientId); every acknowledged message stored once, and
    //    delivered once to the other side.
    const [{ dups }] = await rows<{ dups: number }>(
      conn,
      'SELECT COUNT(*) AS dups FROM (SELECT roomId, senderId, clientId FROM chat_messages GROUP BY roomId, senderId, clientId HAVING COUNT(*) > 1) d',
    );
    checks.push({
      name: 'no duplicate chat message',
      ok: Number(dups) === 0,
      detail: `${dups} duplicated (roomId, senderId, clientId)`,
    });
    let sent = 0;
    let stored = 0;
    let deliveredOnce = 0;
    let deliveryProblems = 0;
    for (const pair of chat) {
      const msgs = await rows<{ id: number; senderId: number; clientId: string }>(
        conn,
        'SELECT id, senderId, clientId FROM chat_messages WHERE roomId = ?',
        [pair.roomId],
      );
      stored += msgs.length;
      for (const [sender, ids] of pair.acked) {
        sent += ids.size;
        const mine = msgs.filter((m) => m.senderId === sender);
        if (mine.length !== ids.size || mine.some((m) => !ids.has(m.clientId))) deliveryProblems++;
      }
      for (const [receiver, got] of pair.received) {
        const expected = msgs
          .filter((m) => m.senderId !== receiver)
          .map((m) => m.id)
          .sort((a, b) => a - b);
        const unique = [...new Set(got)].sort((a, b) => a - b);
        if (got.length !== unique.length || JSON.stringify(unique) !== JSON.stringify(expected)) deliveryProblems++;
        else deliveredOnce += got.length;
      }
    }
    checks.push({
      name: 'chat: sent == stored == delivered once',
      ok: sent === stored && deliveryProblems === 0,
      detail: `${sent} acknowledged, ${stored} stored, ${deliveredOnce} delivered exactly once, ${deliveryProblems} sides off`,
    });

    // 3. Notifications: one per reservation request (to the sitter) and per accept (to the owner),
    //    and each stream saw exactly its user's notifications, each once.
    const [counts] = await rows<{ requested: number; acceptedN: number; reservations: number; acceptedR: number }>(
      conn,
      `SELECT (SELECT COUNT(*) FROM notifications WHERE type = 'reservation.requested') AS requested,
              (SELECT COUNT(*) FROM notifications WHERE type = 'reservation.accepted') AS acceptedN,
              (SELECT COUNT(*) FROM reservations) AS reservations,
              (SELECT COUNT(*) FROM reservations WHERE status = 'accepted') AS acceptedR`,
    );
    const nOk =
      Number(counts.requested) === Number(counts.reservations) && Number(counts.acceptedN) === Number(counts.acceptedR);
    checks.push({
      name: 'notifications match reservations',
      ok: nOk,
      detail: `requested ${counts.requested}/${counts.reservations}, accepted ${counts.acceptedN}/${counts.acceptedR}`,
    });
    let streamed = 0;
    let streamProblems = 0;
    for (const s of streams) {
      const mine = await rows<{ id: number }>(conn, 'SELECT id FROM notifications WHERE recipientId = ? ORDER BY id', [
        s.userId,
      ]);
      const unique = [...new Set(s.ids)].sort((a, b) => a - b);
      if (unique.length !== s.ids.length || JSON.stringify(unique) !== JSON.stringify(mine.map((m) => m.id)))
        streamProblems++;
      streamed += s.ids.length;
    }
    checks.push({
      name: 'SSE: every notification streamed once',
      ok: streamProblems === 0,
      detail: `${streamed} events on ${streams.length} streams, ${streamProblems} streams off`,
    });
  } finally {
    await conn.end();
  }
  return checks;
}
