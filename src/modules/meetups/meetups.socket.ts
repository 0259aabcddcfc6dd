import type { ChatService } from '../chat/chat.service';
import type { LiveLocations } from './meetups.live';
import { locationStop, locationUpdate } from './meetups.schemas';
import type { ClientEvent } from '../../infra/realtime/socket';
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
