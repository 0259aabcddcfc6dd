import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import { uploadedFile } from '../../http/upload';
import type { PetsService } from './pets.service';
import * as s from './pets.schemas';

const tag = 'Pets';

/**
 * API.md "Users and pets" (the pet part). Every route is the owner's only; others' pets are 404.
 * `upload` is the shared image multipart middleware (http/upload.ts).
 */
export function petsRoutes(pets: PetsService, upload: RequestHandler[]): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/pets',
      operationId: 'listMyPets',
      tag,
      auth: true,
      query: s.listPetsQuery,
      summary: 'My pets, oldest first',
      responses: { 200: { description: 'A page of pets', schema: s.petListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await pets.list(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/pets',
      operationId: 'createPet',
      tag,
      auth: true,
      body: s.createPetBody,
      summary: `Add a pet (at most ${s.MAX_PETS_PER_OWNER} per account; 409 past that)`,
      responses: { 409: { description: 'Already 20 pets' }, 201: { description: 'Created', schema: s.petSchema } },
      handler: async ({ user, body }) => ({ status: 201, body: await pets.create(user.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/pets/:id',
      operationId: 'getPet',
      tag,
      auth: true,
      params: idParams,
      summary: 'One of my pets',
      responses: { 200: { description: 'The pet', schema: s.petSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await pets.get(user.id, params.id) }),
    }),
    defineRoute({
      method: 'patch',
      path: '/pets/:id',
      operationId: 'updatePet',
      tag,
      auth: true,
      params: idParams,
      body: s.updatePetBody,
      summary: 'Change my pet (null or "" clears breed, birthDate, notes)',
      responses: { 200: { description: 'Updated', schema: s.petSchema } },
      handler: async ({ user, params, body }) => ({ status: 200, body: await pets.update(user.id, params.id, body) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/pets/:id',
      operationId: 'deletePet',
      tag,
      auth: true,
      params: idParams,
      summary: 'Remove my pet (kept for reservation history)',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await pets.remove(user.id, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/pets/:id/photo',
      operationId: 'setPetPhoto',
      tag,
      auth: true,
      params: idParams,
      upload: { field: 'image' },
      before: upload,
      summary:
        'Set the photo: JPEG, PNG, WebP, GIF or AVIF up to 10 MB, stored as a 120×120 WebP (415 for other formats)',
      responses: { 200: { description: 'The new photo', schema: s.photoSchema } },
      handler: async ({ user, params, req }) => ({
        status: 200,
        body: await pets.setPhoto(user.id, params.id, uploadedFile(req)),
      }),
    }),
  ];
}
