import Joi from 'joi';
import { calendarDay, listOf, pageQuery, text } from '../../http/schemas';

export const SPECIES = ['dog', 'cat', 'other'] as const;
export const SIZES = ['small', 'medium', 'large'] as const;
export const MAX_PETS_PER_OWNER = 20;
export type Species = (typeof SPECIES)[number];
export type Size = (typeof SIZES)[number];

/**
 * A real calendar day from 1900 on ("not in the future" needs the clock and the service time zone, so
 * the service checks that part).
 */
export const birthDay = calendarDay
  .custom((value: string, helpers) => (value < '1900-01-01' ? helpers.error('day.tooOld') : value))
  .messages({ 'day.tooOld': '{{#label}} must be 1900-01-01 or later' });

const name = text(1, 40);
const species = Joi.string().valid(...SPECIES);
const size = Joi.string().valid(...SIZES);
// Optional texts: null (or an empty string) clears them.
const breed = text(0, 60).allow(null, '');
const notes = text(0, 1000).allow(null, '');
const birthDate = birthDay.allow(null);

/** A change to a pet; null or '' clears the optional texts. */
export interface UpdatePetBody {
  name?: string;
  species?: Species;
  breed?: string | null;
  size?: Size;
  birthDate?: string | null;
  notes?: string | null;
}

export interface CreatePetBody extends UpdatePetBody {
  name: string;
  species: Species;
  size: Size;
}

export const createPetBody = Joi.object<CreatePetBody, true>({
  name: name.required(),
  species: species.required(),
  breed,
  size: size.required(),
  birthDate,
  notes,
});

export const updatePetBody = Joi.object<UpdatePetBody, true>({ name, species, breed, size, birthDate, notes });

export const listPetsQuery = pageQuery;

export const petSchema = Joi.object({
  id: Joi.number().integer().required(),
  ownerId: Joi.number().integer().required(),
  name: Joi.string().required(),
  species: Joi.string()
    .valid(...SPECIES)
    .required(),
  breed: Joi.string().allow(null).required(),
  size: Joi.string()
    .valid(...SIZES)
    .required(),
  birthDate: Joi.string().allow(null).description('YYYY-MM-DD').required(),
  notes: Joi.string().allow(null).required(),
  photoUrl: Joi.string().allow(null).required(),
  createdAt: Joi.string().isoDate().required(),
  updatedAt: Joi.string().isoDate().required(),
});

export const petListSchema = listOf(petSchema);
export const photoSchema = Joi.object({ photoUrl: Joi.string().required() });
