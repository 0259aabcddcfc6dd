import type { Sequelize, Transaction } from 'sequelize';
import type { RateLimiterRedis } from 'rate-limiter-flexible';
import { inTransaction } from '../../infra/db';
import type { Clock } from '../../infra/clock';
import type { Logger } from '../../infra/logger';
import type { Storage } from '../../infra/storage/storage';
import { newKey } from '../../infra/storage/keys';
import { AudioRefused, type AudioPipeline } from '../../infra/audio/pipeline';
import { decodeIdCursor, paginate, type Page } from '../../http/cursor';
import {
  AppError,
  Forbidden,
  InvalidFields,
  NotFound,
  Unavailable,
  UnsupportedMediaType,
  fieldError,
} from '../../errors';
import type { MediaService } from '../media/media.service';
import type { GroupsService } from './groups.service';
import type { PublicUserRef } from './groups.presenter';
import { consume } from './groups.deps';
import type { VoiceRepository, VoiceRow } from './groups.voice.repository';

/** API.md "Voice messages": what a client gets for one. */
export interface VoiceMessage {
  id: number;
  url: string;
  durationSec: number;
  title: string | null;
  author: PublicUserRef;
  createdAt: string;
}

export interface VoiceDeps {
  sequelize: Sequelize;
  repo: VoiceRepository;
  groups: GroupsService;
  /** Scheduling file deletions after commit (`storage.delete` through the outbox). */
  media: MediaService;
  /** Absent when the app has no storage driver: uploads then answer 503. */
  storage?: Storage;
  pipeline: AudioPipeline;
  /** Voice uploads per user per hour (429 past it). */
  limiter: RateLimiterRedis;
  clock: Clock;
  logger: Logger;
}

/** Files scheduled for deletion per outbox row when a whole group goes. */
const DELETE_CHUNK = 100;

const toVoice = (r: VoiceRow): VoiceMessage => ({
  id: r.id,
  url: r.url,
  durationSec: r.durationMs / 1000,
  title: r.title,
  author: { id: r.authorId, nickname: r.nickname, avatarUrl: r.avatarUrl },
  createdAt: r.createdAt.toISOString(),
});

/**
 * Voice messages of a group. An upload is admitted (per-user limit, a place in this instance's
 * transcode pool) before its body is read, transcoded by the audio pipeline (AAC in MP4), stored
 * under a fresh key, and only then written to the database; if that write fails, the file is
 * deleted again. Deleting a message or its group deletes its file after the commit (outbox).
 */
export class VoiceService {
  constructor(private readonly d: VoiceDeps) {}

  /** Resolves once FFmpeg detection has answered: true when voice uploads can be transcoded. */
  async ready(): Promise<boolean> {
    return (await this.d.pipeline.detect()).ok;
  }

  /**
   * The upload policy of `POST /groups/{id}/voice` (http/upload.ts calls it before reading the body):
   * a place in this instance's transcode pool first (503 when full or without FFmpeg, which costs the
   * caller nothing), then the caller's hourly limit (429).
   */
  async admitUpload(callerKey: string): Promise<() => void> {
    let release: () => void;
    try {
      release = this.d.pipeline.admit();
    } catch (err) {
      throw err instanceof AudioRefused ? refusalError(err) : err;
    }
    try {
      await consume(this.d.limiter, callerKey);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  async create(userId: number, groupId: number, audio: Buffer, title: string | null): Promise<VoiceMessage> {
    await this.d.groups.requireMember(groupId, userId);
    const storage = this.d.storage;
    if (!storage) throw Unavailable('Voice messages are not configured on this server (no storage)');
    const transcoded = await this.d.pipeline.transcode(audio).catch((err: unknown) => {
      throw err instanceof AudioRefused ? refusalError(err) : err;
    });
    const key = newKey(`voice/${groupId}`, 'm4a');
    try {
      await storage.put(key, transcoded.body, transcoded.contentType);
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message, driver: storage.driver }, 'voice upload to storage failed');
      await this.discard(storage, key);
      throw Unavailable('File storage is unavailable; retry shortly');
    }
    let id: number;
    try {
      id = await inTransaction(this.d.sequelize, async (t) => {
        // The group's row lock orders this insert with a deletion of the group: either the message
        // is in before the deletion reads the group's files, or the group is gone (404).
        await this.d.groups.lockAs(groupId, userId, 'any', t);
        return this.d.repo.insert(
          {
            groupId,
            authorId: userId,
            // The key, not a URL: answers build URLs as they are written (src/http/image-urls.ts).
            url: key,
            durationMs: Math.round(transcoded.durationSec * 1000),
            bytes: transcoded.body.length,
            title,
          },
          this.d.clock.now(),
          t,
        );
      });
    } catch (err) {
      // Nothing committed: the file is nobody's.
      await this.discard(storage, key);
      throw err;
    }
    // Outside the discard: once the row is committed the file is its, whatever this read does.
    const row = await this.d.repo.find(groupId, id);
    if (!row) throw NotFound('Voice message');
    return toVoice(row);
  }

  async list(userId: number, groupId: number, q: { limit: number; cursor?: string }): Promise<Page<VoiceMessage>> {
    await this.d.groups.requireMember(groupId, userId);
    const rows = await this.d.repo.page(groupId, decodeIdCursor(q.cursor), q.limit + 1);
    const page = paginate(rows, q.limit, (last) => ({ id: last.id }));
    return { items: page.items.map(toVoice), nextCursor: page.nextCursor };
  }

  /** The author, the owner or an admin deletes (other members 403, non-members 404); the file goes after commit. */
  async delete(userId: number, groupId: number, voiceId: number): Promise<void> {
    await inTransaction(this.d.sequelize, async (t) => {
      const g = await this.d.groups.lockAs(groupId, userId, 'any', t);
      const row = await this.d.repo.find(groupId, voiceId, t);
      if (!row) throw NotFound('Voice message');
      if (row.authorId !== userId && g.role === 'member') {
        throw Forbidden("Only the message's author, the owner or an admin can delete it");
      }
      await this.d.repo.delete(row.id, t);
      await this.d.media.deleteAfterCommit(t, [row.url]);
    });
  }

  /** `group.deleted`: the rows cascade with the group; their files are scheduled for deletion here. */
  async deleteAllOfGroup(groupId: number, t: Transaction): Promise<void> {
    const urls = await this.d.repo.urlsOfGroup(groupId, t);
    for (let i = 0; i < urls.length; i += DELETE_CHUNK) {
      await this.d.media.deleteAfterCommit(t, urls.slice(i, i + DELETE_CHUNK));
    }
  }

  private async discard(storage: Storage, key: string): Promise<void> {
    try {
      await storage.delete(key);
    } catch (err) {
      this.d.logger.warn({ err: (err as Error).message, key }, 'could not delete a voice file; it is orphaned');
    }
  }
}

/** What the audio adapter's refusals mean to a client (statuses are chosen in http/problem.ts). */
function refusalError(err: AudioRefused): AppError {
  switch (err.reason) {
    case 'format':
    case 'undecodable':
    case 'timeout':
      return UnsupportedMediaType(err.message);
    case 'duration':
      return InvalidFields([fieldError('body.audio', err.message.replace(/^The audio /, ''))]);
    case 'busy':
    case 'unavailable':
      return Unavailable(err.message);
  }
}
