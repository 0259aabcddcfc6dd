import { defineRoute, type RouteSpec } from '../../http/routes';
import type { ChatService } from './chat.service';
import * as s from './chat.schemas';

const tag = 'Chat';

/** API.md "Chat" (REST). The realtime side is chat.socket.ts. */
export function chatRoutes(chat: ChatService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/chat/rooms',
      operationId: 'listChatRooms',
      tag,
      auth: true,
      query: s.listRoomsQuery,
      summary: 'My rooms, most recent activity first, with the last message and my unread count',
      responses: { 200: { description: 'Rooms', schema: s.roomListSchema } },
      handler: async ({ user, query }) => ({ status: 200, body: await chat.listRooms(user.id, query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/chat/rooms',
      operationId: 'openDirectRoom',
      tag,
      auth: true,
      body: s.createRoomBody,
      summary: 'Get or create my direct room with a user (201 created, 200 existing)',
      responses: {
        403: { description: 'Blocked, either way' },
        404: { description: 'No such user' },
        200: { description: 'The existing room', schema: s.roomSchema },
        201: { description: 'Created', schema: s.roomSchema },
      },
      handler: async ({ user, body }) => {
        const { room, created } = await chat.openDirect(user.id, body.userId);
        return { status: created ? 201 : 200, body: room };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/chat/rooms/:id',
      operationId: 'getChatRoom',
      tag,
      auth: true,
      params: s.roomParams,
      summary: 'One room (members only; open post rooms for anyone)',
      responses: { 200: { description: 'Room', schema: s.roomSchema } },
      handler: async ({ user, params }) => ({ status: 200, body: await chat.getRoom(user.id, params.id) }),
    }),
    defineRoute({
      method: 'get',
      path: '/chat/rooms/:id/messages',
      operationId: 'listMessages',
      tag,
      auth: true,
      params: s.roomParams,
      query: s.historyQuery,
      summary:
        'History: `before` newest first, `after` oldest first (catch-up); nextCursor is the id for the same parameter',
      responses: { 200: { description: 'Messages', schema: s.messageListSchema } },
      handler: async ({ user, params, query }) => ({
        status: 200,
        body: await chat.history(user.id, params.id, query),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/chat/rooms/:id/messages',
      operationId: 'sendMessage',
      tag,
      auth: true,
      params: s.roomParams,
      body: s.sendBody,
      summary: 'Send a message; the same clientId again answers 200 with the first message and broadcasts nothing',
      responses: {
        403: { description: 'Direct chat with a blocked user' },
        409: { description: 'The room takes no new messages' },
        429: { description: 'Too many messages' },
        200: { description: 'Repeated clientId: the stored message', schema: s.messageSchema },
        201: { description: 'Sent', schema: s.messageSchema },
      },
      handler: async ({ user, params, body }) => {
        const { message, created } = await chat.send(user.id, params.id, body, { via: 'rest' });
        return { status: created ? 201 : 200, body: message };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/chat/rooms/:id/read',
      operationId: 'markRoomRead',
      tag,
      auth: true,
      params: s.roomParams,
      body: s.readBody,
      summary: 'Move my read pointer forward to a message of this room',
      responses: { 204: { description: 'Read' } },
      handler: async ({ user, params, body }) => {
        await chat.markRead(user.id, params.id, body.messageId, 'body.messageId');
        return { status: 204 };
      },
    }),
  ];
}
