import type { ChatService } from '../chat/chat.service';
import type { LiveLocations } from './meetups.live';
import { liveSnapshotSchema, locationStop, locationStopAckSchema, locationUpdate } from './meetups.schemas';
import type { ClientEvent, ModuleSocketDocs } from '../../infra/realtime/socket';
import type { LiveSnapshot } from './meetups.live';

declare module '../../infra/realtime/socket' {
  interface ClientToServerEvents {
    'location:update': ClientEvent<{ meetupId: number; lat: number; lng: number }>;
    'location:stop': ClientEvent<{ meetupId: number }>;
  }
  interface ServerToClientEvents {
    'location:nearby': (snapshot: LiveSnapshot) => void;
  }
}

/** Live location's events as /asyncapi.json documents them; the payload schemas are the handlers' own. */
export const LIVE_LOCATION_DOCS = {
  client: {
    'location:update': {
      summary:
        'Share my position with a meetup’s participants (from 30 min before the start to its end; one per 2 s per user)',
      payload: locationUpdate,
      ack: liveSnapshotSchema,
      errors: ['NOT_FOUND', 'CONFLICT', 'UNAVAILABLE'],
    },
    'location:stop': { summary: 'Stop sharing my position', payload: locationStop, ack: locationStopAckSchema },
  },
  server: {
    'location:nearby': {
      summary: 'Positions of the participants sharing theirs, on every update',
      payload: liveSnapshotSchema,
    },
  },
} satisfies ModuleSocketDocs;

/**
 * Live location over chat's Socket.io server (same connection, auth and ack format):
 *  - `location:update { meetupId, lat, lng }` → ack `{ ok: true, meetupId, participants }`; errors:
 *    NOT_FOUND (not a participant), CONFLICT (cancelled, or outside 30 min before start … end),
 *    RATE_LIMITED (more than one update per 2 s per user, with `retryAfterSec`), VALIDATION_FAILED.
 *  - `location:stop { meetupId }` → ack `{ ok: true, stopped }`.
 * The other participants receive `location:nearby { meetupId, participants: [{ userId, lat, lng,
 * distanceToMeetingPointM, updatedAt }] }` on every instance.
 */
export function registerLiveLocation(chat: ChatService, live: LiveLocations): void {
  chat.registerSocketHandler((socket, user, tools) => {
    tools.handle(socket, 'location:update', locationUpdate, async ({ meetupId, lat, lng }) => ({
      ...(await live.update(user.id, meetupId, { lat, lng })),
    }));
    tools.handle(socket, 'location:stop', locationStop, async ({ meetupId }) => live.stop(user.id, meetupId));
  });
}
