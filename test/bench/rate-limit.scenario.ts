// Scenario 4, rate-limit accuracy and churn: `deliveries` queued for one WAHA session limited to
// `limit` calls a second, drained by `dispatchers` processes. Accuracy: `sent` deliveries in
// each full 10 s window from the first one, against limit × 10. Churn: job moves per delivery,
// counted from BullMQ's `delayed` events (each `moveToDelayed` and each backoff writes one) read
// live from the queue's event stream, so trimming the stream loses none.
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import {
  type BenchContext,
  fmt,
  median,
  type ResultRow,
  type ScenarioReport,
} from './bench-report.ts';
import { openQueues, waitForAllSent } from './bench-dispatch.ts';
import { type BenchProcess, startDispatchers, stopAll, withProblems } from './bench-processes.ts';
import { enqueueAll, seedQueuedSends, seedWahaSession } from './bench-seed.ts';
import { newPrefix, redisUrl, serviceEnv } from './bench-support.ts';

export interface RateLimitOptions {
  deliveries: number;
  /** The session's limit, per second. */
  limit: number;
  dispatchers: number;
  runs: number;
  groups: number;
  concurrency: number;
}

/** The sizes issue 8 asks for (`--full`). */
export const RATE_LIMIT_FULL: RateLimitOptions = {
  deliveries: 2_000,
  limit: 20,
  dispatchers: 2,
  runs: 3,
  groups: 10,
  concurrency: 64,
};

const WINDOW_MS = 10_000;
const TARGET_ERROR = 0.02;
const TARGET_MOVES = 1.05;

interface RunFigures {
  /** Deliveries `sent` in each full window, in order. */
  windows: number[];
  /** |sent − expected| / expected of each window. */
  errors: number[];
  /** Sent per second from the first to the last `sent`. */
  overallPerSecond: number;
  delayedEvents: number;
  /** Distinct jobs moved at least once. */
  movedJobs: number;
}

export async function runRateLimit(
  context: BenchContext,
  options: RateLimitOptions,
): Promise<ScenarioReport> {
  const runs: RunFigures[] = [];
  for (let run = 1; run <= options.runs; run += 1) {
    runs.push(await measure(context, options));
    const last = runs.at(-1)!;
    context.log(
      `rate limit run ${run}: windows ${last.windows.join(', ')}; ` +
        `${(last.delayedEvents / options.deliveries).toFixed(3)} moves/delivery`,
    );
  }
  const perWindow = options.limit * (WINDOW_MS / 1_000);
  const allErrors = runs.flatMap((run) => run.errors);
  const steadyErrors = runs.flatMap((run) => run.errors.slice(1));
  const worst = (errors: number[]) => Math.max(...errors);
  const pct = (values: number[]) => values.map((value) => value * 100);
  const moves = runs.map((run) => run.delayedEvents / options.deliveries);
  const movesPerMoved = runs.map((run) => run.delayedEvents / Math.max(1, run.movedJobs));
  const scenario = `4. rate limit, ${options.dispatchers} processes`;
  const rows: ResultRow[] = [
    {
      scenario,
      measure: `sent per 10 s window (expected ${perWindow}), all full windows`,
      value: fmt(runs.flatMap((run) => run.windows)),
    },
    {
      scenario,
      measure: 'error per window (%), all windows',
      value: fmt(pct(allErrors), 1),
      target: `≤ ${TARGET_ERROR * 100}% each`,
      pass: worst(allErrors) <= TARGET_ERROR,
    },
    ...(steadyErrors.length === 0
      ? []
      : [
          {
            scenario,
            measure: 'error per window (%), after the first',
            value: fmt(pct(steadyErrors), 1),
            target: `≤ ${TARGET_ERROR * 100}% each`,
            pass: worst(steadyErrors) <= TARGET_ERROR,
          },
        ]),
    {
      scenario,
      measure: `achieved rate first → last sent (/s; limit ${options.limit})`,
      value: fmt(
        runs.map((run) => run.overallPerSecond),
        2,
      ),
    },
    {
      scenario,
      measure: 'job moves (delayed) per delivery',
      value: fmt(moves, 3),
      target: `≤ ${TARGET_MOVES}`,
      pass: median(moves) <= TARGET_MOVES,
    },
    {
      scenario,
      measure: 'job moves per delivery that was moved',
      value: fmt(movesPerMoved, 3),
    },
  ];
  return {
    name: 'Rate-limit accuracy and churn',
    description:
      `${options.deliveries} queued deliveries for one session limited to ${options.limit}/s, ` +
      `${options.dispatchers} dispatcher processes at concurrency ${options.concurrency}; ` +
      `${options.runs} run(s); figures are median (min–max) over the full 10 s windows from the ` +
      'first `sent` (the last, partial window is left out).',
    rows,
    notes: [
      `The limiter lets an idle sender spend a burst of \`max\` (${options.limit}) at once ` +
        `(GCRA, see rate-limiter.ts), so the first window may hold up to ${options.limit} more.`,
    ],
    figures: { ...options, runs },
  };
}

async function measure(context: BenchContext, options: RateLimitOptions): Promise<RunFigures> {
  const { db, url } = context.database;
  const prefix = newPrefix();
  const { queues, close } = openQueues(prefix);
  const session = await seedWahaSession(db, {
    name: `rate-${prefix}`,
    baseUrl: context.waha.url,
    groups: options.groups,
    perSecond: options.limit,
  });
  const eventsConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const events = new QueueEvents(queues.deliveries.name, {
    connection: eventsConnection,
    prefix,
  });
  const moved = new Map<string, number>();
  events.on('delayed', ({ jobId }) => moved.set(jobId, (moved.get(jobId) ?? 0) + 1));
  let dispatchers: BenchProcess[] = [];
  try {
    await events.waitUntilReady();
    await queues.deliveries.pause();
    const jobs = await seedQueuedSends(db, session, Math.ceil(options.deliveries / options.groups));
    await enqueueAll(queues, jobs);
    dispatchers = await startDispatchers(
      serviceEnv(url, prefix, { DISPATCHER_CONCURRENCY: String(options.concurrency) }),
      options.dispatchers,
    );
    await queues.deliveries.resume();
    const expectedMs = (jobs.length / options.limit) * 1_000;
    await waitForAllSent(db, queues, session.senderId, jobs.length, expectedMs * 2 + 60_000).catch(
      (error: unknown) => {
        throw withProblems(error, dispatchers);
      },
    );
    const { rows } = await sql<{ sent_at: Date }>`
      SELECT sent_at FROM deliveries WHERE sender_id = ${session.senderId}
      ORDER BY sent_at`.execute(db);
    const times = rows.map((row) => row.sent_at.getTime());
    return {
      ...windowsOf(times, options.limit),
      delayedEvents: [...moved.values()].reduce((sum, n) => sum + n, 0),
      movedJobs: moved.size,
    };
  } finally {
    await stopAll(dispatchers);
    await events.close();
    eventsConnection.disconnect();
    context.waha.reset();
    await close();
  }
}

function windowsOf(
  times: readonly number[],
  limit: number,
): Pick<RunFigures, 'windows' | 'errors' | 'overallPerSecond'> {
  const first = times[0]!;
  const last = times.at(-1)!;
  const expected = limit * (WINDOW_MS / 1_000);
  const windows: number[] = [];
  for (let start = first; start + WINDOW_MS <= last; start += WINDOW_MS) {
    windows.push(times.filter((t) => t >= start && t < start + WINDOW_MS).length);
  }
  return {
    windows,
    errors: windows.map((sent) => Math.abs(sent - expected) / expected),
    overallPerSecond: (times.length - 1) / ((last - first) / 1_000),
  };
}
