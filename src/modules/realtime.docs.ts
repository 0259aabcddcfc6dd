import type { SocketEventDocs } from '../infra/realtime/socket';
import type { StreamDoc } from '../infra/realtime/sse';
import { CHAT_SOCKET_DOCS } from './chat/chat.socket';
import { LIVE_LOCATION_DOCS } from './meetups/meetups.socket';
import { NOTIFICATION_STREAM_DOCS } from './notifications/notifications.stream';

/**
 * Every Socket.io event and SSE stream, as /asyncapi.json documents them, keyed by the event maps
 * (`ClientToServerEvents`, `ServerToClientEvents`). A module that adds events adds its docs here,
 * and the event to the lists of test/asyncapi.test.ts.
 */
export const SOCKET_EVENT_DOCS: SocketEventDocs = {
  client: { ...CHAT_SOCKET_DOCS.client, ...LIVE_LOCATION_DOCS.client },
  server: { ...CHAT_SOCKET_DOCS.server, ...LIVE_LOCATION_DOCS.server },
};

export const STREAM_DOCS: StreamDoc[] = [NOTIFICATION_STREAM_DOCS];
