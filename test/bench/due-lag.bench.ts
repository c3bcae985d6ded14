// Due lag: how late scheduled sends are sent. Per run: one one-shot send scheduled 3 s ahead,
// then a burst of one-shot sends all due within the same second, through the API and several
// dispatcher processes to the sandbox; beside bare BullMQ delayed no-op jobs due the same way
// (same count, worker processes and concurrency), measured in the same run.
//
// Also: one email draft planned 3 s ahead per route (sandbox, fake Gmail, real SMTP) per run.
//
//   pnpm bench:due [--sends 500] [--dispatchers 3] [--runs 3] [--json reports/bench-due-lag.json]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { newId } from '@outbound/domain';
import { seedSandboxFixture, type SandboxFixture } from '../support/sandbox-fixture.ts';
import {
  EMAIL_ROUTES,
  emailDraftLag,
  seedEmailFixture,
  type EmailFixture,
  type EmailRoute,
} from './email-lag.ts';
import {
  type BenchDatabase,
  clearPrefix,
  createBenchDatabase,
  formatSummary,
  newPrefix,
  percentile,
  redisUrl,
  serviceEnv,
  sleep,
  startNoopWorkers,
  startServices,
  summary,
} from './bench-support.ts';

const { values: args } = parseArgs({
  options: {
    sends: { type: 'string', default: '500' },
    dispatchers: { type: 'string', default: '3' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'string', default: 'reports/bench-due-lag.json' },
  },
});
const SENDS = Number(args.sends);
const DISPATCHERS = Number(args.dispatchers);
const RUNS = Number(args.runs);
const CONCURRENCY = Number(args.concurrency);
/** Time to accept the burst before it is due: its POSTs must all land first. */
const BURST_LEAD_MS = 4_000 + SENDS * 10;
/** The burst's due times are spread over this window. */
const DUE_WINDOW_MS = 1_000;

interface Lags {
  p50: number;
  p99: number;
  max: number;
}

function lagsOf(values: number[]): Lags {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

async function schedule(
  url: string,
  fixture: SandboxFixture,
  firstRunAtMs: number,
): Promise<string> {
  const response = await fetch(`${url}/v2/outbound/sends`, {
    method: 'POST',
    headers: fixture.headers,
    body: JSON.stringify({
      session_id: fixture.sessionId,
      group_ids: fixture.groupIds,
      idempotency_key: newId(),
      text: 'due-lag benchmark',
      schedule: { first_run_at_ms: firstRunAtMs },
    }),
  });
  const body = (await response.json()) as { schedule?: { schedule_id: string } };
  if (response.status !== 202 || body.schedule === undefined) {
    throw new Error(`POST answered ${response.status}: ${JSON.stringify(body)}`);
  }
  return body.schedule.schedule_id;
}

/**
 * Milliseconds from each delivery's due time to `sent`, once all of them are sent, and from due
 * time to its occurrence's send being made (`fired`).
 */
async function sentLags(
  database: BenchDatabase,
  scheduleIds: string[],
): Promise<{ sent: number[]; fired: number[] }> {
  const deadline = performance.now() + 120_000;
  for (;;) {
    const rows = await database.db
      .selectFrom('deliveries')
      .innerJoin('sends', 'sends.id', 'deliveries.send_id')
      .select([
        'deliveries.status',
        'deliveries.sent_at',
        'sends.planned_at',
        'sends.created_at as fired_at',
      ])
      .where('sends.schedule_id', 'in', scheduleIds)
      .execute();
    if (rows.length === scheduleIds.length && rows.every((row) => row.status === 'sent')) {
      return {
        sent: rows.map((row) => row.sent_at!.getTime() - row.planned_at.getTime()),
        fired: rows.map((row) => row.fired_at.getTime() - row.planned_at.getTime()),
      };
    }
    if (performance.now() > deadline) throw new Error('scheduled sends not sent within 2 min');
    await sleep(100);
  }
}

async function measureOutbound(
  database: BenchDatabase,
  fixture: SandboxFixture,
  email: EmailFixture,
): Promise<{ oneShot: number; burst: Lags; fired: Lags; email: Record<EmailRoute, number> }> {
  const prefix = newPrefix();
  const services = await startServices(
    serviceEnv(database.url, prefix, { DISPATCHER_CONCURRENCY: String(CONCURRENCY) }),
    DISPATCHERS,
  );
  try {
    const single = await schedule(services.url, fixture, Date.now() + 3_000);
    const [oneShot] = (await sentLags(database, [single])).sent;
    const emailLags = {} as Record<EmailRoute, number>;
    for (const route of EMAIL_ROUTES) {
      emailLags[route] = await emailDraftLag(database.db, services.url, email, route);
    }

    const due = Date.now() + BURST_LEAD_MS;
    const ids: string[] = [];
    let next = 0;
    const post = async (): Promise<void> => {
      while (next < SENDS) {
        const offset = Math.floor((next * DUE_WINDOW_MS) / SENDS);
        next += 1;
        ids.push(await schedule(services.url, fixture, due + offset));
      }
    };
    await Promise.all(Array.from({ length: 8 }, post));
    if (Date.now() > due) throw new Error('the burst was still being accepted when it fell due');
    const burst = await sentLags(database, ids);
    return {
      oneShot: oneShot!,
      burst: lagsOf(burst.sent),
      fired: lagsOf(burst.fired),
      email: emailLags,
    };
  } finally {
    await services.stop();
    await clearPrefix(prefix);
  }
}

/** The same due times as delayed no-op jobs in bare BullMQ: lag from due to finished. */
async function measureBaseline(): Promise<{ oneShot: number; burst: Lags }> {
  const prefix = newPrefix();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection, prefix });
  const workers = await startNoopWorkers({
    count: DISPATCHERS,
    prefix,
    queueName: 'noop',
    concurrency: CONCURRENCY,
  });
  try {
    const delayed = async (dueTimes: number[]): Promise<number[]> => {
      const now = Date.now();
      const jobs = await queue.addBulk(
        dueTimes.map((dueAt) => ({
          name: 'noop',
          data: { dueAt },
          opts: { jobId: newId(), delay: dueAt - now },
        })),
      );
      const deadline = performance.now() + 120_000;
      for (;;) {
        const states = await Promise.all(jobs.map((job) => queue.getJobState(job.id!)));
        if (states.every((state) => state === 'completed')) break;
        if (performance.now() > deadline) throw new Error('baseline jobs not done within 2 min');
        await sleep(100);
      }
      const done = await Promise.all(jobs.map((job) => queue.getJob(job.id!)));
      return done.map((job) => job!.finishedOn! - (job!.data as { dueAt: number }).dueAt);
    };
    const [oneShot] = await delayed([Date.now() + 3_000]);
    const due = Date.now() + 2_000;
    const burst = await delayed(
      Array.from({ length: SENDS }, (_, i) => due + Math.floor((i * DUE_WINDOW_MS) / SENDS)),
    );
    return { oneShot: oneShot!, burst: lagsOf(burst) };
  } finally {
    await Promise.all(
      workers.map((worker) => worker.stop('SIGTERM').catch(() => worker.stop('SIGKILL'))),
    );
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
    await clearPrefix(prefix);
  }
}

const database = await createBenchDatabase();
const fixture = await seedSandboxFixture(database.db, { name: 'bench-due', groups: 1 });
const email = await seedEmailFixture(database.db);
const emailLags: Record<EmailRoute, number[]> = { sandbox: [], gmail: [], smtp: [] };
const figures = {
  outbound: {
    oneShot: [] as number[],
    p50: [] as number[],
    p99: [] as number[],
    max: [] as number[],
  },
  baseline: {
    oneShot: [] as number[],
    p50: [] as number[],
    p99: [] as number[],
    max: [] as number[],
  },
};
/** Of the burst: due time to its send being made, before delivery. */
const firedP50: number[] = [];
const firedP99: number[] = [];
try {
  for (let run = 1; run <= RUNS; run += 1) {
    const baseline = await measureBaseline();
    const outbound = await measureOutbound(database, fixture, email);
    for (const route of EMAIL_ROUTES) emailLags[route].push(outbound.email[route]);
    for (const [name, result] of [
      ['outbound', outbound],
      ['baseline', baseline],
    ] as const) {
      figures[name].oneShot.push(result.oneShot);
      figures[name].p50.push(result.burst.p50);
      figures[name].p99.push(result.burst.p99);
      figures[name].max.push(result.burst.max);
    }
    firedP50.push(outbound.fired.p50);
    firedP99.push(outbound.fired.p99);
    process.stderr.write(
      `run ${run}: one-shot ${outbound.oneShot} ms (bare ${baseline.oneShot} ms); burst p50 ` +
        `${outbound.burst.p50.toFixed(0)} ms, p99 ${outbound.burst.p99.toFixed(0)} ms ` +
        `(bare ${baseline.burst.p50.toFixed(0)} / ${baseline.burst.p99.toFixed(0)} ms)\n`,
    );
  }
} finally {
  await email.stop();
  await database.drop();
}

const ratio = (a: number[], b: number[]) => a.map((value, i) => value / Math.max(1, b[i]!));
const row = (label: string, outbound: number[], baseline: number[]) => ({
  'lag from due time (ms)': label,
  outbound: formatSummary(summary(outbound)),
  'bare BullMQ delayed no-op': formatSummary(summary(baseline)),
  'outbound / bare': formatSummary(summary(ratio(outbound, baseline)), 1),
});
const { outbound, baseline } = figures;
process.stdout.write(
  `\nDue lag: ${DISPATCHERS} dispatcher processes, concurrency ${CONCURRENCY}, ${RUNS} runs; ` +
    `burst = ${SENDS} one-shot sends due within ${DUE_WINDOW_MS} ms; median (min–max) of runs\n`,
);
// eslint-disable-next-line no-console -- the benchmark's output is its table
console.table([
  row('one-shot, 3 s ahead', outbound.oneShot, baseline.oneShot),
  row(`burst of ${SENDS}, p50`, outbound.p50, baseline.p50),
  row(`burst of ${SENDS}, p99`, outbound.p99, baseline.p99),
  row(`burst of ${SENDS}, max`, outbound.max, baseline.max),
]);
process.stdout.write(
  `email draft planned 3 s ahead, planned → sent (ms): ` +
    EMAIL_ROUTES.map((route) => `${route} ${formatSummary(summary(emailLags[route]))}`).join(', ') +
    '\n',
);
process.stdout.write(
  `of which due → occurrence made: p50 ${formatSummary(summary(firedP50))} ms, ` +
    `p99 ${formatSummary(summary(firedP99))} ms\n`,
);
mkdirSync(dirname(args.json), { recursive: true });
writeFileSync(
  args.json,
  JSON.stringify(
    {
      sends: SENDS,
      dispatchers: DISPATCHERS,
      runs: RUNS,
      concurrency: CONCURRENCY,
      figures,
      emailLags,
    },
    null,
    2,
  ),
);
