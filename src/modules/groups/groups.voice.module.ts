import type { Transaction } from 'sequelize';
import { AudioPipeline } from '../../infra/audio/pipeline';
import { redisLimiter } from '../../http/rate-limit';
import type { RouteSpec } from '../../http/routes';
import type { ModuleContext, Services } from '../module';
import type { GroupsService } from './groups.service';
import { VoiceRepository } from './groups.voice.repository';
import { VoiceService } from './groups.voice';
import { voiceRoutes } from './groups.voice.router';
import { membersBeforeUpload } from './groups.upload';

const MAX_MINUTES = 5;

export interface VoicePart {
  service: VoiceService;
  pipeline: AudioPipeline;
  routes: RouteSpec[];
  /** Says once, at start, whether FFmpeg is there (one log line when it is not); sweeps stale job dirs. */
  start(): void;
  /** Kills transcodes still running (their temporary files are removed as they end). */
  stop(): Promise<void>;
  /** `group.deleted`: schedules the group's voice files for deletion after the commit. */
  onGroupDeleted(groupId: number, t: Transaction): Promise<void>;
}

/**
 * The voice messages of the groups module, built with it: one transcode pool per app instance
 * (AUDIO_POOL_SIZE processes, AUDIO_QUEUE waiting), the voice upload limit per user, and the routes.
 */
export function createVoicePart(ctx: ModuleContext, services: Services, groups: GroupsService): VoicePart {
  const { audio } = ctx.config;
  const pipeline = new AudioPipeline({
    tools: { ffmpeg: audio.ffmpegPath, ffprobe: audio.ffprobePath },
    concurrency: audio.poolSize,
    maxWaiting: audio.queue,
    timeoutMs: audio.jobTimeoutMs,
    maxDurationSec: MAX_MINUTES * 60,
    tmpDir: audio.tmpDir,
  });
  const perHour = ctx.config.voiceUploadsPerHour;
  const service = new VoiceService({
    sequelize: ctx.sequelize,
    repo: new VoiceRepository(ctx.sequelize),
    groups,
    media: services.media,
    storage: ctx.storage,
    pipeline,
    limiter: redisLimiter(ctx.redis, `${ctx.config.redisPrefix}rl:voice`, perHour, 3600),
    clock: ctx.clock,
    logger: ctx.logger,
  });
  ctx.metrics.gauge('pawmate_audio_transcoding', 'FFmpeg processes running now (bounded by AUDIO_POOL_SIZE)', () =>
    Number(pipeline.busy),
  );
  ctx.metrics.gauge(
    'pawmate_audio_jobs',
    'Voice uploads admitted on this instance and not yet answered (bounded by AUDIO_POOL_SIZE + AUDIO_QUEUE)',
    () => pipeline.inFlight,
  );
  return {
    service,
    pipeline,
    routes: voiceRoutes(service, membersBeforeUpload(groups), { perHour, maxMinutes: MAX_MINUTES }),
    start() {
      void pipeline.sweepStale().then((n) => {
        if (n) ctx.logger.info({ removed: n }, 'removed temporary voice job directories left by an earlier crash');
      });
      void pipeline.detect().then((found) => {
        // A check ended by stop() is no finding.
        if (!found.ok && !pipeline.closed) {
          ctx.logger.warn(
            `FFmpeg is missing (${found.reason}): voice messages answer 503, everything else works; install Debian's ffmpeg package or set FFMPEG_PATH/FFPROBE_PATH`,
          );
        }
      });
    },
    stop: () => pipeline.close(),
    onGroupDeleted: (groupId, t) => service.deleteAllOfGroup(groupId, t),
  };
}
