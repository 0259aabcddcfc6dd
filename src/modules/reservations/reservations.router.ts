import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParams } from '../../http/schemas';
import type { Action, ReservationsService } from './reservations.service';
import * as s from './reservations.schemas';

const tag = 'Reservations';

const ACTION_SUMMARY: Record<Action, string> = {
  accept: 'Sitter accepts a request (409 when it would overbook a day)',
  reject: 'Sitter declines a request',
  cancel: 'Either party cancels before the start day',
  complete: 'Sitter marks it completed, from its start day on',
};

/** API.md "Reservations". */
export function reservationsRoutes(reservations: ReservationsService): RouteSpec[] {
  const actionRoute = (action: Action) =>
    defineRoute({
      method: 'post',
      path: `/reservations/:id/${action}`,
      operationId: `${action}Reservation`,
      tag,
      auth: true,
      params: idParams,
      summary: ACTION_SUMMARY[action],
      responses: {
        200: { description: 'The updated reservation', schema: s.reservationSchema },
        403: { description: 'The other party’s move' },
        409: { description: 'Not allowed from the current status (or it would overbook a day)' },
      },
      handler: async ({ user, params }) => ({ status: 200, body: await reservations.act(user.id, params.id, action) }),
    });
  // Only a cancel carries a body (an optional reason).
  const cancelRoute = defineRoute({
    method: 'post',
    path: '/reservations/:id/cancel',
    operationId: 'cancelReservation',
    tag,
    auth: true,
    params: idParams,
    body: s.cancelBody,
    summary: ACTION_SUMMARY.cancel,
    responses: {
      409: { description: 'Not cancellable any more (started, or not requested or accepted)' },
      200: { description: 'The updated reservation', schema: s.reservationSchema },
    },
    handler: async ({ user, params, body }) => ({
      status: 200,
      body: await reservations.act(user.id, params.id, 'cancel', body.reason || undefined),
    }),
  });
  const actions = (Object.keys(ACTION_SUMMARY) as Action[]).map((action) =>
    action === 'cancel' ? cancelRoute : actionRoute(action),
  );
  return [
    defineRoute({
      method: 'post',
      path: '/reservations',
      operationId: 'createReservation',
      tag,
      auth: true,
      body: s.createBody,
      headers: s.createHeaders,
      summary: 'Request days with a sitter; optional Idempotency-Key header (replayed for 24 h)',
      responses: {
        404: { description: 'No such sitter or pet of mine' },
        409: { description: 'Unavailable days, service or pet size not offered, or blocked' },
        201: { description: 'Requested', schema: s.reservationSchema },
      },
      // A replay answers exactly as the first request did: 201 with the same reservation.
      handler: async ({ user, body, headers }) => {
        const { reservation } = await reservations.create(user.id, body, headers['idempotency-key']);
        return { status: 201, body: reservation };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/reservations',
      operationId: 'listReservations',
      tag,
      auth: true,
      query: s.listQuery,
      summary: 'My reservations, newest first (as owner, as sitter, or both)',
      responses: { 200: { description: 'A page', schema: s.reservationList } },
      handler: async ({ user, query }) => ({ status: 200, body: await reservations.list(user.id, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/reservations/:id',
      operationId: 'getReservation',
      tag,
      auth: true,
      params: idParams,
      summary: 'One reservation (its two parties only)',
      responses: { 200: { description: 'The reservation', schema: s.reservationSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await reservations.get(user.id, params.id) }),
    }),
    ...actions,
    defineRoute({
      method: 'post',
      path: '/reservations/:id/review',
      operationId: 'reviewReservation',
      tag,
      auth: true,
      params: idParams,
      body: s.reviewBody,
      summary: 'The owner reviews a completed reservation, once',
      responses: {
        403: { description: 'Only the owner reviews' },
        409: { description: 'Not completed yet, or already reviewed' },
        201: { description: 'Reviewed', schema: s.reviewSchema },
      },
      handler: async ({ user, params, body }) => ({
        status: 201,
        body: await reservations.review(user.id, params.id, body),
      }),
    }),
  ];
}
