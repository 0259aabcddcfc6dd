import { inTransaction } from '../../src/infra/db';
import { bearer, signup, type TestInstance } from './context';
import type { Session } from './fixtures';

/** Makes `s` a member of the group without an invite (the invite flow has its own tests). */
export const joinGroup = (inst: TestInstance, groupId: number, s: Session) =>
  inTransaction(inst.sequelize, (t) => inst.pawmate.services.groups.groups.joinInTx(t, groupId, s.user.id));

/** A group of `size` new users (nicknames P0…), the first its owner, the others joined directly. */
export async function family(inst: TestInstance, size: number) {
  const people = await Promise.all(Array.from({ length: size }, (_, i) => signup(inst, { nickname: `P${i}` })));
  const res = await inst.http.post('/api/v1/groups').set(bearer(people[0].accessToken)).send({ name: 'Fam' });
  if (res.status !== 201) throw new Error(`group failed: ${res.status} ${JSON.stringify(res.body)}`);
  const g = res.body as { id: number; chatRoomId: number };
  for (const s of people.slice(1)) await joinGroup(inst, g.id, s);
  return { g, people };
}
