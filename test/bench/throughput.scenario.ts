// Scenario 1, delivery throughput: `deliveries` already queued (sends of `groups` groups each,
// rows written and jobs enqueued before any worker starts) drained through a WAHA session to
// the fake WAHA server by 1, then 2, dispatcher processes. Beside each, in the same run and
// with the same jobs, worker processes and concurrency: baseline A, bare BullMQ jobs that each
// POST once to the same fake provider (undici Pool, keep-alive); baseline B, bare no-op jobs.
//
// Outbound: from its first `claimed_at` to its last `sent_at` in Postgres. Baselines: from the
// first job started to the last job finished, as the workers clock them. The queue is paused
// while the processes start, so all of them begin together.
import { newId } from '@outbound/domain';
import {
  type BenchContext,
  fmt,
  median,
  ratios,
  type ResultRow,
  type ScenarioReport,
} from './bench-report.ts';
import {
  deliveriesPerSecond,
  openQueues,
  waitForAllSent,
  waitForDrained,
} from './bench-dispatch.ts';
import {
  type BareWorkerStats,
  startBareWorkers,
  startDispatchers,
  stopAll,
  withProblems,
} from './bench-processes.ts';
import { enqueueAll, seedQueuedSends, seedWahaSession } from './bench-seed.ts';
import { newPrefix, serviceEnv } from './bench-support.ts';

export interface ThroughputOptions {
  deliveries: number;
  groups: number;
  runs: number;
  concurrency: number;
  /** Process counts to measure, e.g. [1, 2]. */
  processes: number[];
}

/** The sizes issue 8 asks for (`--full`). */
export const THROUGHPUT_FULL: ThroughputOptions = {
  deliveries: 20_000,
  groups: 10,
  runs: 3,
  concurrency: 64,
  processes: [1, 2],
};

/** The share of baseline A that one dispatcher process must reach. */
const TARGET_OF_A = 0.6;
const DRAIN_TIMEOUT_MS = 600_000;

type Kind = 'outbound' | 'bareHttp' | 'bareNoop';

export async function runThroughput(
  context: BenchContext,
  options: ThroughputOptions,
): Promise<ScenarioReport> {
  const sends = Math.ceil(options.deliveries / options.groups);
  const deliveries = sends * options.groups;
  const figures: Record<string, Record<Kind, number[]>> = {};
  for (let run = 1; run <= options.runs; run += 1) {
    for (const processes of options.processes) {
      const row = (figures[`${processes}`] ??= { outbound: [], bareHttp: [], bareNoop: [] });
      row.bareNoop.push(await measureBare(deliveries, processes, options.concurrency));
      row.bareHttp.push(
        await measureBare(deliveries, processes, options.concurrency, context.waha.url),
      );
      context.waha.reset();
      row.outbound.push(await measureOutbound(context, sends, processes, options));
      context.log(
        `throughput run ${run}, ${processes} process(es): outbound ${row.outbound.at(-1)!.toFixed(0)}/s, ` +
          `A ${row.bareHttp.at(-1)!.toFixed(0)}/s, B ${row.bareNoop.at(-1)!.toFixed(0)}/s`,
      );
    }
  }

  const rows: ResultRow[] = [];
  const single = figures[`${options.processes[0]}`]!;
  for (const [processes, row] of Object.entries(figures)) {
    const toA = ratios(row.outbound, row.bareHttp);
    const scenario = `1. throughput, ${processes} process${processes === '1' ? '' : 'es'}`;
    rows.push(
      {
        scenario,
        measure: 'deliveries/s vs A (bare BullMQ + 1 POST)',
        value: fmt(row.outbound),
        baseline: fmt(row.bareHttp),
        ratio: fmt(toA, 2),
        ...(processes === '1'
          ? { target: `≥ ${TARGET_OF_A} × A`, pass: median(toA) >= TARGET_OF_A }
          : {}),
      },
      {
        scenario,
        measure: 'deliveries/s vs B (bare BullMQ no-op)',
        value: fmt(row.outbound),
        baseline: fmt(row.bareNoop),
        ratio: fmt(ratios(row.outbound, row.bareNoop), 2),
      },
    );
    if (row !== single) {
      rows.push({
        scenario,
        measure: `speed-up over ${options.processes[0]} process(es), baseline: A's`,
        value: fmt(ratios(row.outbound, single.outbound), 2),
        baseline: fmt(ratios(row.bareHttp, single.bareHttp), 2),
      });
    }
  }
  const fastestA = Math.max(...Object.values(figures).flatMap((row) => row.bareHttp));
  const fastestOutbound = Math.max(...Object.values(figures).flatMap((row) => row.outbound));
  const notes = [
    fastestOutbound < 0.9 * fastestA
      ? `The fake WAHA server answered baseline A at up to ${fastestA.toFixed(0)}/s in these runs, ` +
        'above any Outbound figure, so it is not what limits Outbound.'
      : `Outbound reached ${fastestOutbound.toFixed(0)}/s, close to the fake WAHA server's ` +
        `${fastestA.toFixed(0)}/s under baseline A: the figure may be the fake's limit rather than Outbound's.`,
  ];
  return {
    name: 'Delivery throughput',
    description:
      `${deliveries} queued deliveries (${sends} sends × ${options.groups} groups) drained to a ` +
      `fake WAHA server at concurrency ${options.concurrency} per process; ${options.runs} runs, ` +
      'median (min–max). Outbound: first claim → last `sent` in Postgres.',
    rows,
    notes,
    figures: { ...options, deliveries, perSecond: figures },
  };
}

/** Bare BullMQ workers on the same jobs: a POST each when `providerUrl` is given, else no-ops. */
async function measureBare(
  deliveries: number,
  processes: number,
  concurrency: number,
  providerUrl?: string,
): Promise<number> {
  const prefix = newPrefix();
  const { queues, close } = openQueues(prefix);
  const workers: Awaited<ReturnType<typeof startBareWorkers>> = [];
  try {
    await queues.deliveries.pause();
    const organizationId = newId();
    await enqueueAll(
      queues,
      Array.from({ length: deliveries }, () => ({
        delivery_id: newId(),
        organization_id: organizationId,
      })),
    );
    workers.push(
      ...(await startBareWorkers(processes, {
        prefix,
        queueName: queues.deliveries.name,
        concurrency,
        ...(providerUrl === undefined ? {} : { providerUrl }),
      })),
    );
    await queues.deliveries.resume();
    await waitForDrained(queues.deliveries, DRAIN_TIMEOUT_MS);
    const stats: BareWorkerStats[] = await Promise.all(workers.map((worker) => worker.stop()));
    const done = stats.reduce((sum, s) => sum + s.jobs, 0);
    if (done !== deliveries) throw new Error(`bare workers did ${done} of ${deliveries} jobs`);
    const first = Math.min(...stats.filter((s) => s.jobs > 0).map((s) => s.firstStartedAt));
    const last = Math.max(...stats.map((s) => s.lastFinishedAt));
    return deliveries / ((last - first) / 1_000);
  } finally {
    await stopAll(workers.map((worker) => worker.process));
    await close();
  }
}

async function measureOutbound(
  context: BenchContext,
  sends: number,
  processes: number,
  options: ThroughputOptions,
): Promise<number> {
  const { db, url } = context.database;
  const prefix = newPrefix();
  const { queues, close } = openQueues(prefix);
  const session = await seedWahaSession(db, {
    name: `throughput-${prefix}`,
    baseUrl: context.waha.url,
    groups: options.groups,
    perSecond: 1_000_000,
  });
  let dispatchers: Awaited<ReturnType<typeof startDispatchers>> = [];
  try {
    await queues.deliveries.pause();
    const jobs = await seedQueuedSends(db, session, sends);
    await enqueueAll(queues, jobs);
    dispatchers = await startDispatchers(
      serviceEnv(url, prefix, { DISPATCHER_CONCURRENCY: String(options.concurrency) }),
      processes,
    );
    await queues.deliveries.resume();
    const outcome = await waitForAllSent(
      db,
      queues,
      session.senderId,
      jobs.length,
      DRAIN_TIMEOUT_MS,
    ).catch((error: unknown) => {
      throw withProblems(error, dispatchers);
    });
    const calls = context.waha.messages().length;
    if (calls !== jobs.length)
      throw new Error(`the fake WAHA got ${calls} of ${jobs.length} sends`);
    return deliveriesPerSecond(outcome);
  } finally {
    await stopAll(dispatchers);
    context.waha.reset();
    await close();
  }
}
