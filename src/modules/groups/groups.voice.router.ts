import Joi from 'joi';
import type { RequestHandler } from 'express';
import { defineRoute, type RouteSpec } from '../../http/routes';
import { idParam, idParams } from '../../http/schemas';
import { fileUpload, MAX_UPLOAD_BYTES, uploadedFile } from '../../http/upload';
import type { VoiceService } from './groups.voice';
import * as s from './groups.schemas';
import { tag } from './groups.router';

const voiceBody = Joi.object<{ title?: string }, true>({
  title: s.text(1, 100).empty('').description('optional, 1–100 characters (a multipart text field)'),
});
const voiceParams = Joi.object<{ id: number; voiceId: number }, true>({ id: idParam, voiceId: idParam });

const voiceSchema = Joi.object({
  id: Joi.number().integer().required(),
  url: Joi.string().required().description('AAC in MP4 (audio/mp4), playable by every browser'),
  durationSec: Joi.number().required().description('measured on the stored file, to the millisecond'),
  title: Joi.string().allow(null).required(),
  author: s.publicUserRef.required(),
  createdAt: s.iso().required(),
});

export interface VoiceRouteLimits {
  perHour: number;
  maxMinutes: number;
}

/**
 * API.md v1.1 "Voice messages". The upload route checks membership (`membersFirst`: 404) and takes a
 * place in the transcode pool and the caller's hourly limit before a byte of the body is read.
 */
export function voiceRoutes(voice: VoiceService, membersFirst: RequestHandler, limits: VoiceRouteLimits): RouteSpec[] {
  const mb = MAX_UPLOAD_BYTES / 1024 / 1024;
  return [
    defineRoute({
      method: 'post',
      path: '/groups/:id/voice',
      operationId: 'postVoiceMessage',
      tag,
      auth: true,
      params: idParams,
      body: voiceBody,
      upload: { field: 'audio' },
      before: [membersFirst, ...fileUpload(voice, { field: 'audio', noun: 'audio file' })],
      summary:
        `Post a voice message: multipart \`audio\` (WebM/Opus, Ogg/Opus, MP4/AAC, MP3 or WAV, recognised by its bytes) and \`title?\`. ` +
        `Stored as AAC in MP4 (audio/mp4), mono, metadata removed. Over ${mb} MB 413, over ${limits.maxMinutes} minutes 400 (body.audio), ` +
        `anything else or undecodable 415; ${limits.perHour} uploads per hour per person (429); 503 with Retry-After when this server's transcoders are busy`,
      responses: { 201: { description: 'The voice message', schema: voiceSchema } },
      handler: async ({ user, params, body, req }) => ({
        status: 201,
        body: await voice.create(user.id, params.id, uploadedFile(req), body.title ?? null),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/groups/:id/voice',
      operationId: 'listVoiceMessages',
      tag,
      auth: true,
      params: idParams,
      query: s.pageQuery,
      summary: 'The group’s voice messages, newest first',
      responses: { 200: { description: 'One page of voice messages', schema: s.listSchema(voiceSchema) } },
      handler: async ({ user, params, query }) => ({ status: 200, body: await voice.list(user.id, params.id, query) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/groups/:id/voice/:voiceId',
      operationId: 'deleteVoiceMessage',
      tag,
      auth: true,
      params: voiceParams,
      summary:
        'Delete a voice message (its author, the owner or an admin; other members 403); the file leaves storage after the commit',
      responses: { 204: { description: 'Deleted' } },
      handler: async ({ user, params }) => {
        await voice.delete(user.id, params.id, params.voiceId);
        return { status: 204 };
      },
    }),
  ];
}
