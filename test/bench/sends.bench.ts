// End-to-end send throughput: a burst of WhatsApp sends through the API and the dispatcher to
// the sandbox provider, with 1 and 2 dispatcher processes, beside bare BullMQ no-op jobs (the
// same number of jobs, worker processes and concurrency) measured in the same run.
//
//   pnpm bench:sends [--sends 200] [--groups 10] [--runs 3] [--json reports/bench-sends.json]
import { randomBytes } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { CredentialsCipher, newId } from '@outbound/domain';
import {
  addGroupToSession,
  createApiKey,
  createDb,
  createGroup,
  createOrganization,
  createSender,
  ensureDatabaseExists,
  migrateToLatest,
  type Db,
} from '@outbound/db';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

const { values: args } = parseArgs({
  options: {
    sends: { type: 'string', default: '200' },
    groups: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'string', default: 'reports/bench-sends.json' },
  },
});
const SENDS = Number(args.sends);
const GROUPS = Number(args.groups);
const RUNS = Number(args.runs);
const CONCURRENCY = Number(args.concurrency);
const DELIVERIES = SENDS * GROUPS;

const databaseServer = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const cipher = new CredentialsCipher(Buffer.alloc(32, 7).toString('base64'));

interface Fixture {
  db: Db;
  databaseUrl: string;
  apiKey: string;
  sessionId: string;
  groupIds: string[];
}

async function createFixture(): Promise<Fixture> {
  const url = new URL(databaseServer);
  url.pathname = `/outbound_bench_${randomBytes(4).toString('hex')}`;
  const databaseUrl = url.toString();
  await ensureDatabaseExists(databaseUrl);
  const db = createDb({ connectionString: databaseUrl, poolMax: 4 });
  await migrateToLatest(db);
  const organization = await createOrganization(db, 'bench');
  const { key } = await createApiKey(db, { organizationId: organization.id, actorUserId: 'bench' });
  // A limit far above what the machine can do, so the figure is the pipeline's, not the limiter's.
  const session = await createSender(db, cipher, {
    organizationId: organization.id,
    channel: 'whatsapp',
    provider: 'sandbox',
    name: 'bench session',
    rateLimit: { max: 1_000_000, window_ms: 1_000 },
  });
  const groupIds: string[] = [];
  for (let i = 0; i < GROUPS; i += 1) {
    const group = await createGroup(db, {
      organizationId: organization.id,
      chatId: `bench-${i}@g.us`,
    });
    await addGroupToSession(db, {
      organizationId: organization.id,
      groupId: group.id,
      sessionId: session.id,
    });
    groupIds.push(group.id);
  }
  return { db, databaseUrl, apiKey: key, sessionId: session.id, groupIds };
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new pg.Client({ connectionString: databaseServer });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await admin.end();
}

function serviceEnv(fixture: Fixture, prefix: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    CREDENTIALS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    DATABASE_URL: fixture.databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    MIGRATE_ON_START: 'false',
    HOST: '127.0.0.1',
    PORT: '0',
    DISPATCHER_CONCURRENCY: String(CONCURRENCY),
  };
}

/** Deliveries per second from the first POST to the last delivery recorded `sent`. */
async function measureOutbound(fixture: Fixture, dispatchers: number): Promise<number> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const env = serviceEnv(fixture, prefix);
  const processes: ServiceProcess[] = [];
  try {
    const api = startServiceProcess(root('services/api/src/main.ts'), {
      ...env,
      LOG_LEVEL: 'info',
    });
    processes.push(api);
    const url = String((await api.waitForLog((line) => typeof line.url === 'string')).url);
    for (let i = 0; i < dispatchers; i += 1) {
      const dispatcher = startServiceProcess(root('services/dispatcher/src/main.ts'), {
        ...env,
        LOG_LEVEL: 'info',
      });
      processes.push(dispatcher);
      await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    }
    const before = await sentCount(fixture.db);
    const started = performance.now();
    const startedAt = new Date();
    let next = 0;
    const post = async (): Promise<void> => {
      while (next < SENDS) {
        next += 1;
        const response = await fetch(`${url}/v2/outbound/sends`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${fixture.apiKey}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            session_id: fixture.sessionId,
            group_ids: fixture.groupIds,
            idempotency_key: newId(),
            text: 'benchmark message',
          }),
        });
        if (!response.ok)
          throw new Error(`POST answered ${response.status}: ${await response.text()}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, post));
    while ((await sentCount(fixture.db)) < before + DELIVERIES) {
      if (performance.now() - started > 300_000)
        throw new Error('deliveries did not finish in 5 min');
      await sleep(50);
    }
    const last = await fixture.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.max('sent_at').as('last'))
      .executeTakeFirstOrThrow();
    return DELIVERIES / ((new Date(last.last as Date).getTime() - startedAt.getTime()) / 1_000);
  } finally {
    await Promise.all(
      processes.map((service) => service.stop('SIGTERM').catch(() => service.stop('SIGKILL'))),
    );
    await clearPrefix(prefix);
  }
}

async function sentCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '=', 'sent')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Jobs per second for bare no-op BullMQ jobs: from the first add until the queue is drained. */
async function measureBaseline(workers: number): Promise<number> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  const processes: ServiceProcess[] = [];
  try {
    for (let i = 0; i < workers; i += 1) {
      const worker = startServiceProcess(root('test/bench/noop-worker.ts'), {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        QUEUE_NAME: 'noop',
        CONCURRENCY: String(CONCURRENCY),
      });
      processes.push(worker);
    }
    await sleep(1_500); // the workers print plain "ready", not JSON: give them time to connect
    const started = performance.now();
    for (let offset = 0; offset < DELIVERIES; offset += 500) {
      const count = Math.min(500, DELIVERIES - offset);
      await queue.addBulk(
        Array.from({ length: count }, (_, i) => ({
          name: 'noop',
          data: { n: offset + i },
          opts: { jobId: `noop-${offset + i}`, removeOnComplete: true },
        })),
      );
    }
    for (;;) {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) break;
      await sleep(20);
    }
    return DELIVERIES / ((performance.now() - started) / 1_000);
  } finally {
    await Promise.all(
      processes.map((service) => service.stop('SIGTERM').catch(() => service.stop('SIGKILL'))),
    );
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
  }
}

async function clearPrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function summary(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

const fixture = await createFixture();
const results: Record<string, { outbound: number[]; baseline: number[]; ratio: number[] }> = {};
try {
  for (let run = 1; run <= RUNS; run += 1) {
    for (const processes of [1, 2]) {
      const key = `${processes} process${processes === 1 ? '' : 'es'}`;
      results[key] ??= { outbound: [], baseline: [], ratio: [] };
      const baseline = await measureBaseline(processes);
      const outbound = await measureOutbound(fixture, processes);
      results[key].baseline.push(baseline);
      results[key].outbound.push(outbound);
      results[key].ratio.push(outbound / baseline);
      process.stderr.write(
        `run ${run}, ${key}: outbound ${outbound.toFixed(0)}/s, bare BullMQ ${baseline.toFixed(0)}/s\n`,
      );
    }
  }
} finally {
  await fixture.db.destroy();
  await dropDatabase(fixture.databaseUrl);
}

const format = (s: { median: number; min: number; max: number }, digits = 0) =>
  `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
const table = Object.entries(results).map(([name, r]) => ({
  dispatchers: name,
  'outbound deliveries/s': format(summary(r.outbound)),
  'bare BullMQ no-op jobs/s': format(summary(r.baseline)),
  'outbound / bare': format(summary(r.ratio), 3),
}));
process.stdout.write(
  `\n${SENDS} sends × ${GROUPS} groups = ${DELIVERIES} deliveries, concurrency ${CONCURRENCY}, ` +
    `${RUNS} runs; median (min–max)\n`,
);
console.table(table); // eslint-disable-line no-console
mkdirSync(dirname(args.json), { recursive: true });
writeFileSync(
  args.json,
  JSON.stringify(
    { sends: SENDS, groups: GROUPS, runs: RUNS, concurrency: CONCURRENCY, results },
    null,
    2,
  ),
);
