import type Joi from 'joi';
import type { SocketEventDocs } from '../infra/realtime/socket';
import type { StreamDoc } from '../infra/realtime/sse';
import { NamedSchemas, toJsonSchema, type JsonSchema } from './json-schema';

export interface AsyncApiInput {
  version: string;
  /** Mount point of the HTTP routes (the SSE streams' paths are relative to it). */
  apiPrefix: string;
  sockets: SocketEventDocs;
  streams: StreamDoc[];
  /** Named schemas shared with /openapi.json (`Message`, `Notification`). */
  named: Record<string, Joi.Schema>;
}

/** Codes a failed acknowledgement may carry, whatever the event. */
const ACK_CODES_ALWAYS = ['VALIDATION_FAILED', 'RATE_LIMITED', 'INTERNAL'];

const ackErrorSchema: JsonSchema = {
  type: 'object',
  required: ['ok', 'code', 'message'],
  properties: {
    ok: { const: false },
    code: {
      type: 'string',
      enum: ['VALIDATION_FAILED', 'NOT_FOUND', 'FORBIDDEN', 'CONFLICT', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL'],
    },
    message: { type: 'string', description: 'For people; branch on code' },
    errors: {
      type: 'array',
      description: 'VALIDATION_FAILED: one entry per field, path like `roomId`',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    retryAfterSec: { type: 'number', description: 'RATE_LIMITED: seconds to wait' },
  },
};

/** `room:join` → `room-join`: component keys allow letters, digits, `.`, `-` and `_` only. */
const key = (event: string) => event.replace(/[^A-Za-z0-9._-]/g, '-');

/**
 * AsyncAPI 3.0 document of the realtime API: the Socket.io events (one channel, the default
 * namespace; client events are operations the server receives, with the acknowledgement as their
 * reply) and the SSE streams. Payload schemas are converted from the joi schemas that validate the
 * client events, so the document says what the server accepts.
 */
export function buildAsyncApi(input: AsyncApiInput) {
  const names = new NamedSchemas(input.named, '#/components/schemas/');
  const schema = (joi: Joi.Schema) => names.refer(toJsonSchema(joi));
  const socketMessages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const socketChannel = '#/channels/socketio';

  socketMessages['ack-error'] = {
    name: 'ack',
    title: 'Failed acknowledgement',
    summary: 'The acknowledgement of a client event that was refused',
    payload: ackErrorSchema,
  };
  for (const [event, doc] of Object.entries(input.sockets.client)) {
    if (!doc) continue;
    const id = `client-${key(event)}`;
    socketMessages[id] = { name: event, title: event, summary: doc.summary, payload: schema(doc.payload) };
    const ack = doc.ack ? schema(doc.ack) : { type: 'object', properties: {} };
    const ackProps = (ack.properties as Record<string, unknown> | undefined) ?? {};
    socketMessages[`ack-${key(event)}`] = {
      name: 'ack',
      title: `${event} acknowledgement`,
      summary: `What the acknowledgement of ${event} carries when it succeeded`,
      payload: {
        ...ack,
        required: ['ok', ...((ack.required as string[] | undefined) ?? [])],
        properties: { ok: { const: true }, ...ackProps },
      },
    };
    operations[`receive-${key(event)}`] = {
      action: 'receive',
      channel: { $ref: socketChannel },
      title: event,
      summary: doc.summary,
      description:
        `Emit \`${event}\` with the payload and an acknowledgement callback. Failed acknowledgements carry ` +
        `one of: ${[...new Set([...ACK_CODES_ALWAYS, ...(doc.errors ?? [])])].join(', ')}.`,
      messages: [{ $ref: `${socketChannel}/messages/${id}` }],
      reply: {
        channel: { $ref: socketChannel },
        messages: [
          { $ref: `${socketChannel}/messages/ack-${key(event)}` },
          { $ref: `${socketChannel}/messages/ack-error` },
        ],
      },
    };
  }
  for (const [event, doc] of Object.entries(input.sockets.server)) {
    if (!doc) continue;
    const id = `server-${key(event)}`;
    socketMessages[id] = { name: event, title: event, summary: doc.summary, payload: schema(doc.payload) };
    operations[`send-${key(event)}`] = {
      action: 'send',
      channel: { $ref: socketChannel },
      title: event,
      summary: doc.summary,
      messages: [{ $ref: `${socketChannel}/messages/${id}` }],
    };
  }

  const channels: Record<string, unknown> = {
    socketio: {
      address: '/',
      title: 'Socket.io, default namespace',
      description:
        'Connect with the Socket.io v4 client: `io(origin, { path: "/socket.io", auth: { token: accessToken }, ' +
        'transports: ["websocket"] })` (long-polling needs sticky sessions when several instances run). A refused ' +
        'handshake is a connect_error whose message is UNAUTHENTICATED, TOO_MANY_CONNECTIONS or UNAVAILABLE. Rooms ' +
        'are per connection: join them again after every reconnect and fetch missed messages with ' +
        '`GET /api/v1/chat/rooms/{id}/messages?after=<last id>`.',
      servers: [{ $ref: '#/servers/socketio' }],
      messages: socketMessages,
    },
  };

  for (const stream of input.streams) {
    const name = key(stream.path.replace(/^\//, '').replace(/\//g, '.'));
    const messages: Record<string, unknown> = {};
    for (const [event, doc] of Object.entries(stream.events)) {
      messages[key(event)] = {
        name: event,
        title: event,
        summary: doc.summary,
        ...(doc.id ? { description: `The \`id:\` line is ${doc.id}; send it back as Last-Event-ID to resume.` } : {}),
        contentType: 'application/json',
        payload: schema(doc.data),
      };
    }
    channels[name] = {
      address: `${input.apiPrefix}${stream.path}`,
      title: stream.summary,
      description: stream.description,
      servers: [{ $ref: '#/servers/http' }],
      messages,
    };
    operations[`stream-${name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${name}` },
      summary: stream.summary,
      description: stream.description,
      security: [{ $ref: '#/components/securitySchemes/bearer' }, { $ref: '#/components/securitySchemes/queryToken' }],
      messages: Object.keys(messages).map((m) => ({ $ref: `#/channels/${name}/messages/${m}` })),
      bindings: {
        http: {
          method: 'GET',
          ...(stream.query ? { query: toJsonSchema(stream.query) } : {}),
          bindingVersion: '0.3.0',
        },
      },
    };
  }

  const used = referencedNames([channels, operations], names.schemas);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Pawmate realtime API',
      version: input.version,
      description:
        'Chat, typing, read receipts and meetup live location over Socket.io, and the notification stream over ' +
        'Server-Sent Events. The HTTP routes are in /openapi.json; the client guide is docs/API.md in the repository.',
    },
    defaultContentType: 'application/json',
    servers: serversFor('localhost:3000', false),
    channels,
    operations,
    components: {
      schemas: Object.fromEntries(used.map((n) => [n, names.schemas[n]])),
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The access token: `Authorization: Bearer …`, or `auth: { token }` in the Socket.io handshake',
        },
        queryToken: {
          type: 'httpApiKey',
          name: 'access_token',
          in: 'query',
          description: 'The access token in the URL, for EventSource (it cannot set headers); kept out of the logs',
        },
      },
    },
  };
}

/** The servers of the document, for the host the client reached it by (so it is right from any host). */
export function serversFor(host: string, secure: boolean) {
  return {
    socketio: {
      host,
      protocol: secure ? 'wss' : 'ws',
      pathname: '/socket.io',
      title: 'Socket.io',
      description: 'Socket.io v4 endpoint (Engine.IO v4); authenticate with `auth: { token: accessToken }`',
      security: [{ $ref: '#/components/securitySchemes/bearer' }],
    },
    http: {
      host,
      protocol: secure ? 'https' : 'http',
      title: 'HTTP',
      description: 'The HTTP server (Server-Sent Events streams)',
    },
  };
}

/** The named schemas a document refers to, with the ones they refer to in turn. */
function referencedNames(roots: unknown[], schemas: Record<string, JsonSchema>): string[] {
  const found = new Set<string>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
        const name = v.slice('#/components/schemas/'.length);
        if (!found.has(name)) {
          found.add(name);
          visit(schemas[name]);
        }
      } else visit(v);
    }
  };
  roots.forEach(visit);
  return [...found].sort();
}
