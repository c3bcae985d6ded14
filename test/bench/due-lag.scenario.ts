// Scenario 3, due lag: a burst of one-shot schedules all due within the same second, written as
// the API writes them (rows, then their job schedulers upserted) while `dispatchers` dispatcher
// processes run: lag from each occurrence's due time (`planned_at`) to its delivery's `sent_at`.
// Beside it in the same run: the same due times as delayed no-op jobs in bare BullMQ, with the
// same number of worker processes and concurrency (lag = job finished − due).
//
// With `email`, also one email draft planned 3 s ahead per route (sandbox, fake Gmail, real
// SMTP) per run, through the API.
import { sql } from 'kysely';
import { newId } from '@outbound/domain';
import {
  type BenchContext,
  fmt,
  median,
  ratios,
  type ResultRow,
  type ScenarioReport,
} from './bench-report.ts';
import { openQueues, waitForDrained } from './bench-dispatch.ts';
import {
  type BenchProcess,
  startApi,
  startBareWorkers,
  startDispatchers,
  stopAll,
  withProblems,
} from './bench-processes.ts';
import { seedOneShotSchedules, seedWahaSession } from './bench-seed.ts';
import { newPrefix, percentile, serviceEnv, sleep } from './bench-support.ts';
import { EMAIL_ROUTES, emailDraftLag, seedEmailFixture, type EmailRoute } from './email-lag.ts';

export interface DueLagOptions {
  sends: number;
  dispatchers: number;
  runs: number;
  concurrency: number;
  email: boolean;
}

/** The sizes issue 8 asks for (`--full`). */
export const DUE_LAG_FULL: DueLagOptions = {
  sends: 5_000,
  dispatchers: 3,
  runs: 3,
  concurrency: 64,
  email: false,
};

/** The dispatchers' poll interval (the service default), which the target is relative to. */
const POLL_INTERVAL_MS = 1_000;
const TARGET_P99_MS = POLL_INTERVAL_MS + 250;
/** The burst's due times are spread over this window. */
const DUE_WINDOW_MS = 1_000;

interface Lags {
  p50: number;
  p99: number;
  max: number;
}

function lagsOf(values: readonly number[]): Lags {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

/** Time to write the burst before it falls due. */
function leadMs(sends: number): number {
  return 3_000 + sends * 1;
}

export async function runDueLag(
  context: BenchContext,
  options: DueLagOptions,
): Promise<ScenarioReport> {
  const outbound: Lags[] = [];
  const fired: Lags[] = [];
  const bare: Lags[] = [];
  const email: Record<EmailRoute, number[]> = { sandbox: [], gmail: [], smtp: [] };
  for (let run = 1; run <= options.runs; run += 1) {
    bare.push(await measureBare(options));
    const result = await measureOutbound(context, options, email);
    outbound.push(result.sent);
    fired.push(result.fired);
    context.log(
      `due lag run ${run}: p50 ${result.sent.p50.toFixed(0)} ms, p99 ${result.sent.p99.toFixed(0)} ` +
        `ms (bare ${bare.at(-1)!.p50.toFixed(0)} / ${bare.at(-1)!.p99.toFixed(0)} ms)`,
    );
  }

  const scenario = `3. due lag, ${options.dispatchers} processes`;
  const row = (label: keyof Lags, target?: number): ResultRow => {
    const values = outbound.map((lags) => lags[label]);
    const baseline = bare.map((lags) => lags[label]);
    return {
      scenario,
      measure: `due → sent ${label} (ms) vs bare delayed no-op`,
      value: fmt(values),
      baseline: fmt(baseline),
      ratio: fmt(
        ratios(
          values,
          baseline.map((value) => Math.max(1, value)),
        ),
        1,
      ),
      ...(target === undefined
        ? {}
        : { target: `≤ ${target} ms (poll + 250)`, pass: median(values) <= target }),
    };
  };
  const notes = [
    `Of that, due → occurrence's send made: p50 ${fmt(fired.map((lags) => lags.p50))} ms, ` +
      `p99 ${fmt(fired.map((lags) => lags.p99))} ms.`,
  ];
  if (options.email) {
    notes.push(
      'Email draft planned 3 s ahead, planned → sent (ms): ' +
        EMAIL_ROUTES.map((route) => `${route} ${fmt(email[route])}`).join(', ') +
        '.',
    );
  }
  return {
    name: 'Due lag',
    description:
      `${options.sends} one-shot scheduled sends (1 group each) due within ${DUE_WINDOW_MS} ms, ` +
      `${options.dispatchers} dispatcher processes at concurrency ${options.concurrency}, ` +
      `POLL_INTERVAL_MS ${POLL_INTERVAL_MS}; ${options.runs} runs, median (min–max).`,
    rows: [row('p50'), row('p99', TARGET_P99_MS), row('max')],
    notes,
    figures: { ...options, outbound, fired, bare, email },
  };
}

async function measureOutbound(
  context: BenchContext,
  options: DueLagOptions,
  email: Record<EmailRoute, number[]>,
): Promise<{ sent: Lags; fired: Lags }> {
  const { db, url } = context.database;
  const prefix = newPrefix();
  const { queues, close } = openQueues(prefix);
  const session = await seedWahaSession(db, {
    name: `due-${prefix}`,
    baseUrl: context.waha.url,
    groups: 1,
    perSecond: 1_000_000,
  });
  const env = serviceEnv(url, prefix, {
    DISPATCHER_CONCURRENCY: String(options.concurrency),
    POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
  });
  const processes: BenchProcess[] = [];
  try {
    processes.push(...(await startDispatchers(env, options.dispatchers)));
    if (options.email) {
      const { api, url: apiUrl } = await startApi(env);
      processes.push(api);
      const fixture = await seedEmailFixture(db);
      try {
        for (const route of EMAIL_ROUTES) {
          email[route].push(await emailDraftLag(db, apiUrl, fixture, route));
        }
      } finally {
        await fixture.stop();
      }
    }
    const due = Date.now() + leadMs(options.sends);
    const seeding = performance.now();
    await seedOneShotSchedules(
      db,
      queues,
      session,
      Array.from(
        { length: options.sends },
        (_, i) => new Date(due + Math.floor((i * DUE_WINDOW_MS) / options.sends)),
      ),
    );
    if (Date.now() > due) throw new Error('the burst was still being written when it fell due');
    context.log(
      `due lag: wrote ${options.sends} schedules in ${(performance.now() - seeding).toFixed(0)} ms`,
    );
    return await lagsOnceSent(
      db,
      session.senderId,
      options.sends,
      60_000 + options.sends * 20,
    ).catch((error: unknown) => {
      throw withProblems(error, processes);
    });
  } finally {
    await stopAll(processes);
    context.waha.reset();
    await close();
  }
}

async function lagsOnceSent(
  db: BenchContext['database']['db'],
  senderId: string,
  expected: number,
  timeoutMs: number,
): Promise<{ sent: Lags; fired: Lags }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await sql<{ sent: string }>`
      SELECT count(*) AS sent FROM deliveries
      WHERE sender_id = ${senderId} AND status = 'sent'`.execute(db);
    if (Number(rows[0]!.sent) >= expected) break;
    if (performance.now() > deadline) {
      throw new Error(`${rows[0]!.sent} of ${expected} scheduled sends sent in ${timeoutMs} ms`);
    }
    await sleep(200);
  }
  const { rows } = await sql<{ sent_lag: number; fired_lag: number }>`
    SELECT extract(epoch FROM d.sent_at - s.planned_at) * 1000 AS sent_lag,
           extract(epoch FROM s.created_at - s.planned_at) * 1000 AS fired_lag
    FROM deliveries d JOIN sends s ON s.id = d.send_id
    WHERE d.sender_id = ${senderId}`.execute(db);
  return {
    sent: lagsOf(rows.map((row) => Number(row.sent_lag))),
    fired: lagsOf(rows.map((row) => Number(row.fired_lag))),
  };
}

/** The same due times as delayed no-op jobs in bare BullMQ. */
async function measureBare(options: DueLagOptions): Promise<Lags> {
  const prefix = newPrefix();
  const { queues, close } = openQueues(prefix);
  const queue = queues.deliveries;
  const workers = await startBareWorkers(options.dispatchers, {
    prefix,
    queueName: queue.name,
    concurrency: options.concurrency,
  });
  try {
    const now = Date.now();
    const due = now + leadMs(options.sends);
    const jobs = Array.from({ length: options.sends }, (_, i) => {
      const dueAt = due + Math.floor((i * DUE_WINDOW_MS) / options.sends);
      return {
        name: 'noop',
        data: { due_at: dueAt },
        opts: { jobId: newId(), delay: dueAt - now },
      };
    });
    for (let offset = 0; offset < jobs.length; offset += 1_000) {
      await queue.addBulk(jobs.slice(offset, offset + 1_000));
    }
    await sleep(Math.max(0, due - Date.now()));
    await waitForDrained(queue, 60_000 + options.sends * 20);
    const stats = await Promise.all(workers.map((worker) => worker.stop()));
    return lagsOf(stats.flatMap((s) => s.lags));
  } finally {
    await stopAll(workers.map((worker) => worker.process));
    await close();
  }
}
