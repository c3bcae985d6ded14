// End-to-end send throughput: a burst of WhatsApp sends through the API and the dispatcher to
// the sandbox provider, with 1 and 2 dispatcher processes, beside bare BullMQ no-op jobs (the
// same number of jobs, worker processes and concurrency) measured in the same run.
//
//   pnpm bench:sends [--sends 200] [--groups 10] [--runs 3] [--json reports/bench-sends.json]
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { newId } from '@outbound/domain';
import type { Db } from '@outbound/db';
import { seedSandboxFixture, type SandboxFixture } from '../support/sandbox-fixture.ts';
import {
  clearPrefix,
  createBenchDatabase,
  type BenchDatabase,
  formatSummary,
  newPrefix,
  redisUrl,
  serviceEnv,
  sleep,
  startServices,
  summary,
} from './bench-support.ts';
import { startBareWorkers, stopAll } from './bench-processes.ts';

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

/** Deliveries per second from the first POST to the last delivery recorded `sent`. */
async function measureOutbound(
  database: BenchDatabase,
  fixture: SandboxFixture,
  dispatchers: number,
): Promise<number> {
  const prefix = newPrefix();
  const services = await startServices(
    serviceEnv(database.url, prefix, { DISPATCHER_CONCURRENCY: String(CONCURRENCY) }),
    dispatchers,
  );
  try {
    const before = await sentCount(database.db);
    const started = performance.now();
    const startedAt = new Date();
    let next = 0;
    const post = async (): Promise<void> => {
      while (next < SENDS) {
        next += 1;
        const response = await fetch(`${services.url}/v2/outbound/sends`, {
          method: 'POST',
          headers: fixture.headers,
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
    while ((await sentCount(database.db)) < before + DELIVERIES) {
      if (performance.now() - started > 300_000)
        throw new Error('deliveries did not finish in 5 min');
      await sleep(50);
    }
    const last = await database.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.max('sent_at').as('last'))
      .executeTakeFirstOrThrow();
    return DELIVERIES / ((new Date(last.last as Date).getTime() - startedAt.getTime()) / 1_000);
  } finally {
    await services.stop();
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
  const prefix = newPrefix();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  const processes = await startBareWorkers(workers, {
    prefix,
    queueName: 'noop',
    concurrency: CONCURRENCY,
  });
  try {
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
    await stopAll(processes.map((worker) => worker.process));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
  }
}

const database = await createBenchDatabase();
const fixture = await seedSandboxFixture(database.db, { name: 'bench', groups: GROUPS });
const results: Record<string, { outbound: number[]; baseline: number[]; ratio: number[] }> = {};
try {
  for (let run = 1; run <= RUNS; run += 1) {
    for (const processes of [1, 2]) {
      const key = `${processes} process${processes === 1 ? '' : 'es'}`;
      results[key] ??= { outbound: [], baseline: [], ratio: [] };
      const baseline = await measureBaseline(processes);
      const outbound = await measureOutbound(database, fixture, processes);
      results[key].baseline.push(baseline);
      results[key].outbound.push(outbound);
      results[key].ratio.push(outbound / baseline);
      process.stderr.write(
        `run ${run}, ${key}: outbound ${outbound.toFixed(0)}/s, bare BullMQ ${baseline.toFixed(0)}/s\n`,
      );
    }
  }
} finally {
  await database.drop();
}

const table = Object.entries(results).map(([name, r]) => ({
  dispatchers: name,
  'outbound deliveries/s': formatSummary(summary(r.outbound)),
  'bare BullMQ no-op jobs/s': formatSummary(summary(r.baseline)),
  'outbound / bare': formatSummary(summary(r.ratio), 3),
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
