import type { PetRow } from './pets.repository';

/** Pet JSON as API.md "Users and pets" describes it. */
export interface Pet {
  id: number;
  ownerId: number;
  name: string;
  species: PetRow['species'];
  breed: string | null;
  size: PetRow['size'];
  birthDate: string | null;
  notes: string | null;
  photoUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

export const toPet = (p: PetRow): Pet => ({
  id: p.id,
  ownerId: p.ownerId,
  name: p.name,
  species: p.species,
  breed: p.breed,
  size: p.size,
  birthDate: p.birthDate,
  notes: p.notes,
  photoUrl: p.photoUrl,
  createdAt: new Date(p.createdAt).toISOString(),
  updatedAt: new Date(p.updatedAt).toISOString(),
});
