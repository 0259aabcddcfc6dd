import { bearer, signup, type TestInstance } from './context';

export type Session = Awaited<ReturnType<typeof signup>>;

export interface SitterOptions {
  services?: string[];
  prices?: Record<string, number>;
  acceptedSizes?: string[];
  maxPets?: number;
  location?: { lat: number; lng: number };
}

/** A new user who is a sitter near Mapo-gu, Seoul (overridable). */
export async function makeSitter(inst: TestInstance, o: SitterOptions = {}) {
  const user = await signup(inst, { nickname: 'Sitter' });
  return { user, sitter: await becomeSitter(inst, user, o) };
}

/** Gives an existing user a sitter profile near Mapo-gu, Seoul (overridable). */
export async function becomeSitter(inst: TestInstance, user: { accessToken: string }, o: SitterOptions = {}) {
  const services = o.services ?? ['boarding', 'walking'];
  const prices = o.prices ?? Object.fromEntries(services.map((s, i) => [s, 10_000 * (i + 1)]));
  const res = await inst.http
    .put('/api/v1/sitters/me')
    .set(bearer(user.accessToken))
    .send({
      headline: 'Loving sitter',
      bio: 'Big garden',
      services,
      prices,
      acceptedSizes: o.acceptedSizes ?? ['small', 'medium'],
      maxPets: o.maxPets ?? 2,
      location: o.location ?? { lat: 37.5563, lng: 126.9236 },
      address: 'Mapo-gu, Seoul',
    });
  if (res.status !== 200) throw new Error(`sitter profile failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; userId: number };
}

export async function makePet(inst: TestInstance, owner: Session, o: { name?: string; size?: string } = {}) {
  const res = await inst.http
    .post('/api/v1/pets')
    .set(bearer(owner.accessToken))
    .send({ name: o.name ?? 'Bori', species: 'dog', size: o.size ?? 'small' });
  if (res.status !== 201) throw new Error(`pet failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; name: string; size: string };
}

/** An owner with one pet. */
export async function makeOwner(inst: TestInstance, petSize = 'small') {
  const owner = await signup(inst, { nickname: 'Owner' });
  const pet = await makePet(inst, owner, { size: petSize });
  return { owner, pet };
}

export interface MeetupOptions {
  title?: string;
  location?: { lat: number; lng: number };
  startsAt?: string;
  endsAt?: string;
  capacity?: number;
  tags?: string[];
  petSizes?: string[];
}

/** A meetup hosted by `host` (near Mapo-gu, Seoul, tomorrow of the real clock unless overridden). */
export async function makeMeetup(inst: TestInstance, host: Session, o: MeetupOptions = {}) {
  const res = await inst.http
    .post('/api/v1/meetups')
    .set(bearer(host.accessToken))
    .send({
      title: o.title ?? 'Evening walk',
      description: 'Along the river',
      location: o.location ?? { lat: 37.5563, lng: 126.9236 },
      address: 'Mangwon Hangang Park',
      startsAt: o.startsAt ?? new Date(Date.now() + 24 * 3600 * 1000).toISOString(),
      ...(o.endsAt ? { endsAt: o.endsAt } : {}),
      capacity: o.capacity ?? 5,
      ...(o.tags ? { tags: o.tags } : {}),
      ...(o.petSizes ? { petSizes: o.petSizes } : {}),
    });
  if (res.status !== 201) throw new Error(`meetup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: number; chatRoomId: number; startsAt: string; endsAt: string; participantCount: number };
}

/** Opens a new direct chat room of `x` with `y` through the API (201); its id. */
export async function openDirectRoom(inst: TestInstance, x: Session, y: Session): Promise<number> {
  const res = await inst.http
    .post('/api/v1/chat/rooms')
    .set(bearer(x.accessToken))
    .send({ type: 'direct', userId: y.user.id })
    .expect(201);
  return res.body.id as number;
}
