import type { Sequelize, Transaction } from 'sequelize';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import { PRESETS } from '../../infra/images/pipeline';
import { Conflict, NotFound, Unauthenticated, ValidationFailed } from '../../errors';
import { decodeIdCursor, paginate } from '../../http/cursor';
import type { UsersService } from '../users/users.service';
import type { MediaService } from '../media/media.service';
import { PetsRepository, type PetFields, type PetRow } from './pets.repository';
import { toPet, type Pet } from './pets.presenter';
import { MAX_PETS_PER_OWNER } from './pets.schemas';

type PetInput = { [K in keyof PetFields]?: PetFields[K] | '' };

/** Today's calendar day in the service time zone (`en-CA` formats as YYYY-MM-DD). */
function today(clock: Clock, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    clock.now(),
  );
}

/** Pets are private to their owner: every miss, someone else's pet included, is the same 404. */
export class PetsService {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly pets: PetsRepository,
    private readonly users: UsersService,
    private readonly clock: Clock,
    private readonly serviceTz: string,
    private readonly media: MediaService,
  ) {}

  async list(
    ownerId: number,
    q: { limit: number; cursor?: string },
  ): Promise<{ items: Pet[]; nextCursor: string | null }> {
    const rows = await this.pets.listOwned(ownerId, decodeIdCursor(q.cursor) ?? 0, q.limit);
    const { items, nextCursor } = paginate(rows, q.limit, (last) => ({ id: last.id }));
    return { items: items.map(toPet), nextCursor };
  }

  async get(ownerId: number, id: number): Promise<Pet> {
    return toPet(await this.requireOwned(ownerId, id));
  }

  async create(ownerId: number, input: PetInput): Promise<Pet> {
    const fields = this.normalize(input) as PetFields;
    const pet = await inTransaction(this.sequelize, async (t) => {
      // The owner's row lock serializes concurrent creates, so the count below cannot be raced past 20.
      if (!(await this.users.findById(ownerId, t, true))) throw Unauthenticated('This account no longer exists');
      if ((await this.pets.countActive(ownerId, t)) >= MAX_PETS_PER_OWNER) {
        throw Conflict(`An account can have at most ${MAX_PETS_PER_OWNER} pets`);
      }
      const now = this.clock.now();
      return this.pets.create(
        {
          ownerId,
          name: fields.name,
          species: fields.species,
          size: fields.size,
          breed: fields.breed ?? null,
          birthDate: fields.birthDate ?? null,
          notes: fields.notes ?? null,
          createdAt: now,
          updatedAt: now,
        },
        t,
      );
    });
    return toPet(pet);
  }

  async update(ownerId: number, id: number, input: PetInput): Promise<Pet> {
    const changes = this.normalize(input);
    const pet = await inTransaction(this.sequelize, async (t) => {
      await this.requireOwned(ownerId, id, t, true);
      if (Object.keys(changes).length) await this.pets.update(id, { ...changes, updatedAt: this.clock.now() }, t);
      return this.requireOwned(ownerId, id, t);
    });
    return toPet(pet);
  }

  /** Soft delete: reservations keep pointing at the row; the photo stays for that history. */
  async remove(ownerId: number, id: number): Promise<void> {
    await inTransaction(this.sequelize, async (t) => {
      await this.requireOwned(ownerId, id, t, true);
      const now = this.clock.now();
      await this.pets.update(id, { deletedAt: now, updatedAt: now }, t);
    });
  }

  /**
   * Account deletion (inside its transaction): the pets go (soft delete) and so do their photo files,
   * once the deletion commits, so nothing of them stays publicly reachable.
   */
  async removeAllForDeletedAccount(ownerId: number, t: Transaction): Promise<void> {
    const photos = await this.pets.removeAllOf(ownerId, this.clock.now(), t);
    await this.media.deleteAfterCommit(t, photos);
  }

  /** Re-encodes the upload to a 120×120 WebP, swaps it in, and deletes the previous photo after commit. */
  async setPhoto(ownerId: number, id: number, image: Buffer): Promise<{ photoUrl: string }> {
    // Ownership first: someone else's pet is a 404 before any decoding or storage work.
    await this.requireOwned(ownerId, id);
    return this.media.replace(image, PRESETS.petPhoto, `pets/${ownerId}`, ([photo]) =>
      inTransaction(this.sequelize, async (t) => {
        // Locked again: the pet may have been deleted, or given another photo, since the check above.
        const pet = await this.requireOwned(ownerId, id, t, true);
        await this.pets.update(id, { photoUrl: photo.key, updatedAt: this.clock.now() }, t);
        await this.media.deleteAfterCommit(t, [pet.photoUrl]);
        return { photoUrl: photo.key };
      }),
    );
  }

  /**
   * For other modules (reservations): the caller's live pets with these ids, in id order, or
   * NotFound('Pet') when any id is missing, deleted or someone else's. Pass `t` to read (and lock)
   * inside the caller's transaction.
   */
  async findOwnedPets(ownerId: number, petIds: number[], t?: Transaction): Promise<Pet[]> {
    const ids = [...new Set(petIds)];
    const rows = await this.pets.findOwnedMany(ownerId, ids, t, Boolean(t));
    if (rows.length !== ids.length) throw NotFound('Pet');
    return rows.map(toPet);
  }

  private async requireOwned(ownerId: number, id: number, t?: Transaction, lock = false): Promise<PetRow> {
    const pet = await this.pets.findOwned(ownerId, id, t, lock);
    if (!pet) throw NotFound('Pet');
    return pet;
  }

  /** Empty optional texts mean "none"; a birth date may not lie in the future of the service's today. */
  private normalize(input: PetInput): Partial<PetFields> {
    const out: Partial<PetFields> = {};
    if (input.name !== undefined) out.name = input.name as string;
    if (input.species !== undefined) out.species = input.species as PetFields['species'];
    if (input.size !== undefined) out.size = input.size as PetFields['size'];
    if (input.breed !== undefined) out.breed = input.breed || null;
    if (input.notes !== undefined) out.notes = input.notes || null;
    if (input.birthDate !== undefined) {
      const day = input.birthDate || null;
      if (day && day > today(this.clock, this.serviceTz)) {
        throw ValidationFailed('Invalid request: body.birthDate is in the future', [
          { path: 'body.birthDate', message: 'birthDate must not be in the future' },
        ]);
      }
      out.birthDate = day;
    }
    return out;
  }
}
