import os from 'node:os';
import Joi from 'joi';
import { clusterUrl } from './infra/redis';
import type { RetentionAges } from './infra/retention';
import { loadOAuthConfig, OAuthConfigError, type OAuthConfig } from './oauth-config';

/** Typed, validated configuration. Built once from the environment (or a test's overrides). */
export interface Config {
  env: 'development' | 'test' | 'production';
  port: number;
  databaseUrl: string;
  dbPoolMax: number;
  /** Read replicas for lag-tolerant reads (src/infra/replicas.ts); empty: every read on the primary. */
  databaseReplicaUrls: string[];
  /** A replica further behind than this (Seconds_Behind_Master) is skipped. */
  replicaMaxLagSec: number;
  /** How often each replica's state and lag are probed. */
  replicaProbeMs: number;
  /** One Redis server (redis://…), or a Redis Cluster as `redis+cluster://host:port,host:port`. */
  redisUrl: string;
  /** Namespaces every Redis key, channel and queue, so several deployments (or test files) can share one Redis. */
  redisPrefix: string;
  jwtSecret: string;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  bcryptCost: number;
  smtpUrl: string | null;
  mailFrom: string;
  publicUrl: string;
  /** Base URL images are served from (a CDN in front of /uploads or the bucket); null: the storage's own. */
  mediaUrl: string | null;
  /** Base of the links in e-mails (the front end's pages: /verify-email, /reset-password, …). */
  appUrl: string;
  /** Browser origins allowed by CORS; `http://localhost:*` entries become patterns (any port). */
  corsOrigins: Array<string | RegExp>;
  storageDriver: 'local' | 's3';
  uploadDir: string;
  s3: { bucket: string | null; endpoint: string | null; region: string };
  logLevel: string;
  serviceTz: string;
  rateLimitAuthMax: number;
  /** Failed logins per client IP per 15 min; looser than per account (a team behind one NAT). */
  rateLimitAuthIpMax: number;
  rateLimitAuthGeneralPerMin: number;
  /** Image uploads per user per hour, across every image route and instance. */
  uploadsPerHour: number;
  /** Image uploads buffered in memory at once per instance (each up to 10 MB); past it, 503. */
  uploadsInFlight: number;
  /** Voice messages: FFmpeg's programs and the per-instance transcode pool (src/infra/audio). */
  audio: {
    ffmpegPath: string;
    ffprobePath: string;
    /** FFmpeg processes at once per instance. */
    poolSize: number;
    /** Uploads admitted beyond the running ones, waiting for a process; past it, 503. */
    queue: number;
    /** Wall-clock limit of one transcode job; past it the process is killed (415). */
    jobTimeoutMs: number;
    /** Parent of the per-job temporary directories. */
    tmpDir: string;
  };
  /** Voice message uploads per user per hour, across groups and instances. */
  voiceUploadsPerHour: number;
  shutdownTimeoutMs: number;
  outboxPollMs: number;
  /** Chat group commit: how long an idle instance's first send waits for others, and sends per transaction at most. */
  chatBatch: { windowMs: number; maxBatch: number; maxInFlight: number };
  /** Chat: each room's sends committed by one owning instance (README "Chat"); off: by the instance that got them. */
  chatRoomOwners: boolean;
  /** Failed attempts after which an outbox row is marked dead and no longer retried. */
  outboxMaxAttempts: number;
  /** How long spent rows are kept before the retention sweep deletes them (ms; see src/infra/retention.ts). */
  retention: RetentionAges;
  /** How often the periodic sweeps (reminders, expiries) run; 0 disables the scheduler (tests sweep by hand). */
  sweepEveryMs: number;
  /** Sign-in providers (Kakao, Naver, Google, any OpenID Connect issuer); see src/oauth-config.ts. */
  oauth: OAuthConfig;
}

/**
 * The sample value in .env.example (and anything shaped like it). A production server refuses it:
 * anyone who has read the example could sign access tokens for any account.
 */
const PLACEHOLDER_SECRET = /change-?me/i;

const schema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'test', 'production').default('development'),
  PORT: Joi.number().integer().min(0).max(65535).default(3000),
  DATABASE_URL: Joi.string()
    .uri({ scheme: ['mysql', 'mariadb'] })
    .required(),
  DB_POOL_MAX: Joi.number().integer().min(1).max(100).default(10),
  DATABASE_REPLICA_URLS: Joi.string()
    .pattern(/^\s*(mysql|mariadb):\/\/[^,\s]+(\s*,\s*(mysql|mariadb):\/\/[^,\s]+)*\s*$/)
    .messages({ 'string.pattern.base': 'must be mysql://… URLs separated by commas' }),
  DATABASE_REPLICA_MAX_LAG_SEC: Joi.number().integer().min(0).max(3600).default(5),
  DATABASE_REPLICA_PROBE_MS: Joi.number().integer().min(100).max(60_000).default(1000),
  // One server (redis://, rediss://) or a Redis Cluster (redis+cluster://host:port,host:port); a
  // cluster may instead be named by REDIS_CLUSTER_NODES, which then wins.
  REDIS_URL: Joi.alternatives()
    .try(
      Joi.string().uri({ scheme: ['redis', 'rediss'] }),
      Joi.string().pattern(/^redis\+cluster:\/\/([^@/]*@)?[^,/@]+:\d{1,5}(,[^,/@]+:\d{1,5})*\/?$/),
    )
    .when('REDIS_CLUSTER_NODES', { is: Joi.exist(), then: Joi.optional(), otherwise: Joi.required() })
    .messages({ 'alternatives.match': 'must be a redis://, rediss:// or redis+cluster://host:port,… URL' }),
  REDIS_CLUSTER_NODES: Joi.string()
    .pattern(/^\s*[^,\s]+:\d{1,5}(\s*,\s*[^,\s]+:\d{1,5})*\s*$/)
    .messages({ 'string.pattern.base': 'must be host:port[,host:port…]' }),
  REDIS_PREFIX: Joi.string()
    .pattern(/^[A-Za-z0-9:_-]{1,40}$/)
    .default('pm:'),
  JWT_SECRET: Joi.string()
    .min(32)
    .required()
    .when('NODE_ENV', {
      is: 'production',
      then: Joi.string().custom((value: string, helpers) =>
        PLACEHOLDER_SECRET.test(value) ? helpers.error('secret.placeholder') : value,
      ),
    })
    .messages({
      'string.min': 'must be at least 32 characters',
      'secret.placeholder': 'is the placeholder from .env.example; generate one with `openssl rand -hex 32`',
    }),
  ACCESS_TOKEN_TTL_SEC: Joi.number()
    .integer()
    .min(10)
    .default(15 * 60),
  REFRESH_TOKEN_TTL_SEC: Joi.number()
    .integer()
    .min(60)
    .default(14 * 24 * 3600),
  BCRYPT_COST: Joi.number().integer().min(4).max(15).default(12),
  SMTP_URL: Joi.string()
    .uri({ scheme: ['smtp', 'smtps'] })
    .allow('')
    .default(''),
  MAIL_FROM: Joi.string().default('Pawmate <no-reply@pawmate.local>'),
  PUBLIC_URL: Joi.string()
    .uri({ scheme: ['http', 'https'] })
    .default('http://localhost:3000'),
  MEDIA_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  APP_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  CORS_ORIGINS: Joi.string().allow(''),
  STORAGE_DRIVER: Joi.string().valid('local', 's3').default('local'),
  UPLOAD_DIR: Joi.string().default('./uploads'),
  S3_BUCKET: Joi.string().when('STORAGE_DRIVER', { is: 's3', then: Joi.required(), otherwise: Joi.optional() }),
  S3_ENDPOINT: Joi.string().uri().optional(),
  S3_REGION: Joi.string().default('us-east-1'),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  SERVICE_TZ: Joi.string()
    .default('Asia/Seoul')
    .custom((value: string) => {
      // Intl throws a RangeError for an unknown zone; that is the check we want.
      new Intl.DateTimeFormat('en-US', { timeZone: value });
      return value;
    }, 'IANA time zone'),
  RATE_LIMIT_AUTH_MAX: Joi.number().integer().min(1).default(10),
  RATE_LIMIT_AUTH_IP_MAX: Joi.number().integer().min(1).default(50),
  RATE_LIMIT_AUTH_GENERAL_PER_MIN: Joi.number().integer().min(1).default(120),
  UPLOADS_PER_HOUR: Joi.number().integer().min(1).default(60),
  UPLOADS_IN_FLIGHT: Joi.number().integer().min(1).max(256).default(16),
  FFMPEG_PATH: Joi.string().default('ffmpeg'),
  FFPROBE_PATH: Joi.string().default('ffprobe'),
  AUDIO_POOL_SIZE: Joi.number().integer().min(1).max(64).default(2),
  AUDIO_QUEUE: Joi.number().integer().min(0).max(256).default(4),
  AUDIO_JOB_TIMEOUT_MS: Joi.number().integer().min(100).default(60_000),
  AUDIO_TMP_DIR: Joi.string().default(os.tmpdir()),
  VOICE_UPLOADS_PER_HOUR: Joi.number().integer().min(1).default(30),
  SHUTDOWN_TIMEOUT_MS: Joi.number().integer().min(100).default(10_000),
  OUTBOX_POLL_MS: Joi.number().integer().min(10).default(1000),
  CHAT_BATCH_WINDOW_MS: Joi.number().integer().min(0).max(1000).default(2),
  CHAT_BATCH_MAX: Joi.number().integer().min(1).max(1000).default(200),
  CHAT_BATCH_IN_FLIGHT: Joi.number().integer().min(1).max(16).default(4),
  CHAT_ROOM_OWNERS: Joi.string().valid('on', 'off').default('on'),
  OUTBOX_MAX_ATTEMPTS: Joi.number().integer().min(1).max(1000).default(20),
  SWEEP_EVERY_MS: Joi.number().integer().min(0).default(60_000),
  RETENTION_OUTBOX_DAYS: Joi.number().min(0).default(7),
  RETENTION_AUTH_DAYS: Joi.number().min(0).default(30),
  RETENTION_EMAIL_TOKENS_DAYS: Joi.number().min(0).default(7),
  RETENTION_IDEMPOTENCY_HOURS: Joi.number().min(0).default(24),
  RETENTION_FAILED_MAIL_JOBS_DAYS: Joi.number().min(0).default(30),
  RETENTION_GEO_TOMBSTONES_HOURS: Joi.number().min(0).default(24),
}).unknown(true);

const DAY_MS = 24 * 60 * 60_000;

export class ConfigError extends Error {}

/** CORS_ORIGINS when unset in development: a front end on any local port may call the API. */
export const DEV_CORS_ORIGINS = 'http://localhost:*,http://127.0.0.1:*,http://[::1]:*';

/** `https://app.example.com,http://localhost:*` → exact origins, and patterns for `:*` (any port). */
function corsOriginsOf(list: string): Array<string | RegExp> {
  return list
    .split(',')
    .map((s) => s.trim().replace(/\/+$/, ''))
    .filter(Boolean)
    .map((o) =>
      o.endsWith(':*') ? new RegExp(`^${o.slice(0, -2).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d{1,5})?$`) : o,
    );
}

/**
 * Validates an environment-like record. Throws ConfigError whose message is one readable line
 * naming the first bad variable, so a bad deployment fails fast and obviously.
 */
export function loadConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Config {
  // `NAME=` in a .env file means "not set" (as .env.example lists every variable), not "the empty string".
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const { value, error } = schema.validate(present, { abortEarly: true, convert: true });
  if (error) {
    const detail = error.details[0];
    const name = String(detail.path[0] ?? detail.context?.key ?? 'environment');
    const reason = detail.message.replace(/^"[^"]+" /, '');
    throw new ConfigError(`Invalid configuration: ${name} ${reason}`);
  }
  // Shapes and defaults were checked by the schema above; this maps names to fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const v = value as Record<string, any>;
  let oauth: OAuthConfig;
  try {
    oauth = loadOAuthConfig(present);
  } catch (err) {
    if (err instanceof OAuthConfigError) throw new ConfigError(`Invalid configuration: ${err.message}`);
    throw err;
  }
  return {
    env: v.NODE_ENV,
    port: v.PORT,
    databaseUrl: v.DATABASE_URL,
    dbPoolMax: v.DB_POOL_MAX,
    databaseReplicaUrls: String(v.DATABASE_REPLICA_URLS ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
    replicaMaxLagSec: v.DATABASE_REPLICA_MAX_LAG_SEC,
    replicaProbeMs: v.DATABASE_REPLICA_PROBE_MS,
    redisUrl: v.REDIS_CLUSTER_NODES ? clusterUrl(v.REDIS_CLUSTER_NODES) : v.REDIS_URL,
    redisPrefix: v.REDIS_PREFIX,
    jwtSecret: v.JWT_SECRET,
    accessTokenTtlSec: v.ACCESS_TOKEN_TTL_SEC,
    refreshTokenTtlSec: v.REFRESH_TOKEN_TTL_SEC,
    bcryptCost: v.BCRYPT_COST,
    smtpUrl: v.SMTP_URL || null,
    mailFrom: v.MAIL_FROM,
    publicUrl: String(v.PUBLIC_URL).replace(/\/+$/, ''),
    mediaUrl: v.MEDIA_URL ?? null,
    appUrl: String(v.APP_URL ?? v.PUBLIC_URL).replace(/\/+$/, ''),
    corsOrigins: corsOriginsOf(v.CORS_ORIGINS ?? (v.NODE_ENV === 'development' ? DEV_CORS_ORIGINS : '')),
    storageDriver: v.STORAGE_DRIVER,
    uploadDir: v.UPLOAD_DIR,
    s3: { bucket: v.S3_BUCKET ?? null, endpoint: v.S3_ENDPOINT ?? null, region: v.S3_REGION },
    logLevel: v.LOG_LEVEL,
    serviceTz: v.SERVICE_TZ,
    rateLimitAuthMax: v.RATE_LIMIT_AUTH_MAX,
    rateLimitAuthIpMax: v.RATE_LIMIT_AUTH_IP_MAX,
    rateLimitAuthGeneralPerMin: v.RATE_LIMIT_AUTH_GENERAL_PER_MIN,
    uploadsPerHour: v.UPLOADS_PER_HOUR,
    uploadsInFlight: v.UPLOADS_IN_FLIGHT,
    audio: {
      ffmpegPath: v.FFMPEG_PATH,
      ffprobePath: v.FFPROBE_PATH,
      poolSize: v.AUDIO_POOL_SIZE,
      queue: v.AUDIO_QUEUE,
      jobTimeoutMs: v.AUDIO_JOB_TIMEOUT_MS,
      tmpDir: v.AUDIO_TMP_DIR,
    },
    voiceUploadsPerHour: v.VOICE_UPLOADS_PER_HOUR,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    outboxPollMs: v.OUTBOX_POLL_MS,
    chatBatch: { windowMs: v.CHAT_BATCH_WINDOW_MS, maxBatch: v.CHAT_BATCH_MAX, maxInFlight: v.CHAT_BATCH_IN_FLIGHT },
    chatRoomOwners: v.CHAT_ROOM_OWNERS === 'on',
    outboxMaxAttempts: v.OUTBOX_MAX_ATTEMPTS,
    retention: {
      processedOutboxMs: v.RETENTION_OUTBOX_DAYS * DAY_MS,
      authMs: v.RETENTION_AUTH_DAYS * DAY_MS,
      emailTokensMs: v.RETENTION_EMAIL_TOKENS_DAYS * DAY_MS,
      idempotencyKeysMs: v.RETENTION_IDEMPOTENCY_HOURS * 60 * 60_000,
      failedMailJobsMs: v.RETENTION_FAILED_MAIL_JOBS_DAYS * DAY_MS,
      geoTombstonesMs: v.RETENTION_GEO_TOMBSTONES_HOURS * 60 * 60_000,
    },
    sweepEveryMs: v.SWEEP_EVERY_MS,
    oauth,
  };
}
