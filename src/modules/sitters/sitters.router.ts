import type { AuthUser } from '../../http/auth';
import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import { uploadedFile } from '../../http/upload';
import type { SittersService } from './sitters.service';
import * as s from './sitters.schemas';

const tag = 'Sitters';

/**
 * API.md "Sitters and search". `/sitters/me…` and `/sitters/search` come before `/sitters/:id`, whose
 * id validation would otherwise answer them with a 400.
 */
/** `identify` reads a bearer token when one is sent: a signed-in caller's blocks apply to search and profiles. */
export function sittersRoutes(
  sitters: SittersService,
  upload: RequestHandler[] | null,
  identify: RequestHandler,
): RouteSpec[] {
  const routes: RouteSpec[] = [
    defineRoute({
      method: 'get',
      path: '/sitters/search',
      operationId: 'searchSitters',
      tag,
      query: s.searchQuery,
      before: [identify],
      summary:
        'Active sitters within a radius that match the filters (distance, rating or price order; ties by id). With a bearer token, sitters on either side of a block with the caller are left out',
      responses: { 200: { description: 'One page of sitters', schema: s.searchResultSchema } },
      handler: async ({ query, res }) => ({
        status: 200,
        body: await sitters.searchSitters(query, (res.locals.user as AuthUser | undefined)?.id),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/sitters/map',
      operationId: 'mapSitters',
      tag,
      query: s.mapQuery,
      before: [identify],
      summary:
        'Active sitters in a map viewport as at most 500 markers: a sitter alone at its public point, a crowd as one cluster whose count adds up exactly. With a bearer token, blocks apply',
      responses: { 200: { description: 'Markers', schema: s.mapSchema } },
      handler: async ({ query, res }) => ({
        status: 200,
        body: await sitters.sitterMap(query, (res.locals.user as AuthUser | undefined)?.id),
      }),
    }),
    defineRoute({
      method: 'put',
      path: '/sitters/me',
      operationId: 'upsertMySitterProfile',
      tag,
      auth: true,
      body: s.putSitterBody,
      summary: 'Create or replace my sitter profile; I become a sitter (a deactivated profile comes back)',
      responses: { 200: { description: 'My sitter profile', schema: s.ownSitterSchema } },
      handler: async ({ user, body }) => ({ status: 200, body: await sitters.putMine(user.id, body) }),
    }),
    defineRoute({
      method: 'get',
      path: '/sitters/me',
      operationId: 'getMySitterProfile',
      tag,
      auth: true,
      summary: 'My sitter profile (also when deactivated)',
      responses: { 200: { description: 'My sitter profile', schema: s.ownSitterSchema } },
      handler: async ({ user }) => ({ status: 200, body: await sitters.getMine(user.id) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/sitters/me',
      operationId: 'deactivateMySitterProfile',
      tag,
      auth: true,
      summary: 'Stop being a sitter: leaves search at once; reviews and history are kept',
      responses: { 204: { description: 'Deactivated' } },
      handler: async ({ user }) => {
        await sitters.deactivateMine(user.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/sitters/me/unavailable-dates',
      operationId: 'getMyUnavailableDates',
      tag,
      auth: true,
      summary: 'My unavailable days from today on',
      responses: { 200: { description: 'Days', schema: s.datesSchema } },
      handler: async ({ user }) => ({ status: 200, body: await sitters.getUnavailableDates(user.id) }),
    }),
    defineRoute({
      method: 'put',
      path: '/sitters/me/unavailable-dates',
      operationId: 'setMyUnavailableDates',
      tag,
      auth: true,
      body: s.unavailableDatesBody,
      summary: 'Replace my unavailable days (at most 366, none in the past in SERVICE_TZ)',
      responses: { 200: { description: 'The days now set', schema: s.datesSchema } },
      handler: async ({ user, body }) => ({
        status: 200,
        body: await sitters.setUnavailableDates(user.id, body.dates),
      }),
    }),
  ];
  if (upload) {
    routes.push(
      defineRoute({
        method: 'post',
        path: '/sitters/me/photos',
        operationId: 'addMySitterPhoto',
        tag,
        auth: true,
        before: upload,
        upload: { field: 'image' },
        summary: `Add a photo (multipart field image; at most 10 MB; up to 10 photos): a 1280 px WebP and a 320 px thumbnail`,
        responses: { 409: { description: 'Already 10 photos' }, 201: { description: 'Stored', schema: s.photoSchema } },
        handler: async ({ user, req }) => ({ status: 201, body: await sitters.addPhoto(user.id, uploadedFile(req)) }),
      }),
      defineRoute({
        method: 'delete',
        path: '/sitters/me/photos/:id',
        operationId: 'deleteMySitterPhoto',
        tag,
        auth: true,
        params: s.photoParams,
        summary: 'Delete one of my photos',
        responses: { 204: { description: 'Deleted' } },
        handler: async ({ user, params }) => {
          await sitters.deletePhoto(user.id, params.id);
          return { status: 204 };
        },
      }),
    );
  }
  routes.push(
    defineRoute({
      method: 'get',
      path: '/sitters/:id',
      operationId: 'getSitter',
      tag,
      params: idParams,
      before: [identify],
      summary: 'A sitter with photos and rating summary (404 between users on either side of a block)',
      responses: { 200: { description: 'Sitter', schema: s.sitterSchema } },
      handler: async ({ params, res }) => ({
        status: 200,
        body: await sitters.getPublic(params.id, (res.locals.user as AuthUser | undefined)?.id),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/sitters/:id/reviews',
      operationId: 'listSitterReviews',
      tag,
      params: idParams,
      query: s.reviewsQuery,
      summary: 'Reviews of a sitter, newest first',
      responses: { 200: { description: 'One page of reviews', schema: s.reviewListSchema } },
      handler: async ({ params, query }) => ({
        status: 200,
        body: await sitters.listReviews(params.id, query.limit, query.cursor),
      }),
    }),
  );
  return routes;
}
