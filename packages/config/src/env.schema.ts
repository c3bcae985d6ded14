import { z } from 'zod';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();
const milliseconds = z.coerce.number().int().min(1);

/** Comma-separated hostnames, lower-cased; empty by default. */
const hostList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((host) => host.trim().toLowerCase())
      .filter((host) => host !== ''),
  );

const postgresUrl = z.url({ protocol: /^postgres(ql)?$/ }).describe('PostgreSQL connection string');
const redisUrl = z.url({ protocol: /^rediss?$/ }).describe('Redis connection string');

/**
 * Every setting Outbound reads from the environment. Each variable is documented in
 * `.env.example`; a test keeps the two in step.
 */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),

  DATABASE_URL: postgresUrl.default('postgres://postgres:postgres@127.0.0.1:5432/outbound'),
  DATABASE_POOL_MAX: positiveInt.default(10),
  MIGRATE_ON_START: booleanFlag.default(true),

  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, ":", "_" or "-", at most 64')
    .default('outbound'),

  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(3000),
  JSON_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'a size such as 512kb or 1mb')
    .default('1mb'),
  SHUTDOWN_TIMEOUT_MS: milliseconds.default(10_000),
  API_RATE_LIMIT_REQUESTS: z.coerce.number().int().min(0).default(6_000),
  API_RATE_LIMIT_WINDOW_SECONDS: positiveInt.max(3_600).default(60),

  ADMIN_USERNAME: z.string().min(1).max(200).optional(),
  ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').max(200).optional(),

  CREDENTIALS_ENCRYPTION_KEY: z
    .base64()
    .refine((value) => Buffer.from(value, 'base64').length === 32, 'must decode to 32 bytes')
    .optional(),

  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .default('http://localhost:3000')
    .describe('Where providers fetch media Outbound serves'),
  MEDIA_MAX_BYTES: positiveInt.default(5 * 1024 * 1024),
  MEDIA_MAX_FILES: positiveInt.max(10).default(10),
  MEDIA_FETCH_TIMEOUT_MS: milliseconds.default(10_000),
  MEDIA_FETCH_ALLOW_HOSTS: hostList,
  MEDIA_FETCH_ALLOW_HTTP: booleanFlag.default(false),
  // Gmail's 25 MB is the lowest limit of the email providers served, so it is also the ceiling.
  EMAIL_MAX_ATTACHMENT_BYTES: positiveInt.max(25 * 1024 * 1024).default(25 * 1024 * 1024),
  IDEMPOTENCY_TTL_HOURS: positiveInt.min(24).default(48),

  DISPATCHER_CONCURRENCY: positiveInt.default(64),
  DISPATCHER_METRICS_PORT: port.default(9464),
  DELIVERY_MAX_ATTEMPTS: positiveInt.max(50).default(5),
  DELIVERY_BACKOFF_MS: milliseconds.default(2_000),
  ADAPTER_TIMEOUT_MS: milliseconds.default(15_000),
  SWEEPER_INTERVAL_MS: milliseconds.default(30_000),
  SWEEPER_QUEUED_AFTER_MS: milliseconds.default(60_000),
  WORKER_LOCK_DURATION_MS: milliseconds.default(30_000),
  WORKER_STALLED_INTERVAL_MS: milliseconds.default(30_000),
  WORKER_MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(1),
  POLL_INTERVAL_MS: milliseconds.default(1_000),
  RECONCILE_INTERVAL_MS: milliseconds.default(30_000),
  SCHEDULE_MIN_INTERVAL_MS: milliseconds.default(1_000),
  SCHEDULE_MAX_INTERVAL_MS: milliseconds.default(366 * 24 * 3_600_000),
  SCHEDULE_MAX_OCCURRENCES: positiveInt.default(1_000),

  WEBHOOK_RELAY_INTERVAL_MS: milliseconds.default(500),
  WEBHOOK_CONCURRENCY: positiveInt.default(16),
  WEBHOOK_TIMEOUT_MS: milliseconds.max(60_000).default(10_000),
  WEBHOOK_MAX_ATTEMPTS: positiveInt.max(100).default(30),
  WEBHOOK_BACKOFF_MS: milliseconds.default(60_000),
  WEBHOOK_BACKOFF_MAX_MS: milliseconds.default(3_600_000),
  WEBHOOK_ORDER_WAIT_MS: z.coerce.number().int().min(0).default(30_000),
  WEBHOOK_ALLOW_HOSTS: hostList,
  WEBHOOK_ALLOW_HTTP: booleanFlag.default(false),
});

export type Env = z.infer<typeof envSchema>;
