// Scenario 5, growth: one dispatcher process drains batches of growing size (a warm-up batch
// first, not reported), each seeded while the deliveries queue is paused. Cost per delivery =
// (last `sent` − first claim) / deliveries. Redis `used_memory` and the keys of the run's prefix
// (MEMORY USAGE) before the first batch and after the last, once finished jobs are trimmed;
// the dispatcher's RSS after the warm-up and after the last batch.
import { Redis } from 'ioredis';
import {
  type BenchContext,
  fmt,
  median,
  type ResultRow,
  type ScenarioReport,
} from './bench-report.ts';
import { openQueues, waitForAllSent, type BenchQueues } from './bench-dispatch.ts';
import { type BenchProcess, startDispatchers, stopAll, withProblems } from './bench-processes.ts';
import { enqueueAll, seedQueuedSends, seedWahaSession } from './bench-seed.ts';
import { newPrefix, redisUrl, serviceEnv, sleep } from './bench-support.ts';

export interface GrowthOptions {
  /** Batch sizes in deliveries, smallest first. */
  sizes: number[];
  /** How many times each size is measured (one after the other, smallest first). */
  runs: number;
  warmUp: number;
  groups: number;
  concurrency: number;
}

/** The sizes issue 8 asks for (`--full`). */
export const GROWTH_FULL: GrowthOptions = {
  sizes: [1_000, 10_000, 100_000],
  runs: 1,
  warmUp: 1_000,
  groups: 10,
  concurrency: 64,
};

const TARGET_GROWTH = 0.1;

/** Bytes: Redis `used_memory`, the run's keys, and the dispatcher's RSS. */
interface Memory {
  redisBefore: number;
  redisAfter: number;
  prefixBefore: number;
  prefixAfter: number;
  rssBefore: number;
  rssAfter: number;
}
const TARGET_REDIS_BYTES = 10 * 1024 * 1024;
const MB = 1024 * 1024;

export async function runGrowth(
  context: BenchContext,
  options: GrowthOptions,
): Promise<ScenarioReport> {
  const { url } = context.database;
  const prefix = newPrefix();
  const bench = openQueues(prefix);
  const redis = new Redis(redisUrl);
  const costs = new Map<number, number[]>(options.sizes.map((size) => [size, []]));
  let dispatcher: BenchProcess | undefined;
  let memory: Memory;
  try {
    const [started] = await startDispatchers(
      serviceEnv(url, prefix, { DISPATCHER_CONCURRENCY: String(options.concurrency) }),
      1,
    );
    dispatcher = started!;
    const redisBefore = await usedMemory(redis);
    const prefixBefore = await prefixBytes(redis, prefix);
    await drainBatch(context, bench, dispatcher, options.warmUp, options);
    const rssBefore = dispatcher.rssBytes();
    for (let run = 1; run <= options.runs; run += 1) {
      for (const size of options.sizes) {
        const cost = await drainBatch(context, bench, dispatcher, size, options);
        costs.get(size)!.push(cost);
        context.log(`growth run ${run}: ${size} deliveries at ${cost.toFixed(3)} ms each`);
      }
    }
    // Finished jobs are trimmed as they complete; reservations expire shortly after their slot.
    await sleep(2_000);
    memory = {
      redisBefore,
      redisAfter: await usedMemory(redis),
      prefixBefore,
      prefixAfter: await prefixBytes(redis, prefix),
      rssBefore,
      rssAfter: dispatcher.rssBytes(),
    };
  } finally {
    await stopAll(dispatcher === undefined ? [] : [dispatcher]);
    redis.disconnect();
    await bench.close();
  }

  const smallest = options.sizes[0]!;
  const largest = options.sizes.at(-1)!;
  const growth = costs.get(largest)!.map((cost, i) => cost / costs.get(smallest)![i]!);
  const redisDelta = memory.redisAfter - memory.redisBefore;
  const scenario = '5. growth, 1 process';
  const rows: ResultRow[] = [
    ...options.sizes.map((size) => ({
      scenario,
      measure: `ms per delivery at ${size.toLocaleString('en-US')}`,
      value: fmt(costs.get(size)!, 3),
    })),
    {
      scenario,
      measure: `cost at ${largest.toLocaleString('en-US')} / at ${smallest.toLocaleString('en-US')}`,
      value: fmt(growth, 3),
      target: `≤ ${1 + TARGET_GROWTH}`,
      pass: median(growth) <= 1 + TARGET_GROWTH,
    },
    {
      scenario,
      measure: 'slope: cost change per 10× deliveries (%)',
      value: slopePerDecade(options.sizes, costs).toFixed(1),
    },
    {
      scenario,
      measure: 'Redis used_memory before → after (MB)',
      value: `${(memory.redisBefore / MB).toFixed(1)} → ${(memory.redisAfter / MB).toFixed(1)} (${signed(redisDelta / MB)})`,
      target: '≤ +10 MB',
      pass: redisDelta <= TARGET_REDIS_BYTES,
    },
    {
      scenario,
      measure: "the run's Redis keys before → after (MB)",
      value: `${(memory.prefixBefore / MB).toFixed(2)} → ${(memory.prefixAfter / MB).toFixed(2)}`,
    },
    {
      scenario,
      measure: 'dispatcher RSS after warm-up → after (MB)',
      value: `${(memory.rssBefore / MB).toFixed(0)} → ${(memory.rssAfter / MB).toFixed(0)} (${signed((memory.rssAfter - memory.rssBefore) / MB)})`,
    },
  ];
  return {
    name: 'Growth',
    description:
      `One dispatcher process drains batches of ${options.sizes.map((size) => size.toLocaleString('en-US')).join(', ')} ` +
      `deliveries (sends of ${options.groups} groups, after a ${options.warmUp}-delivery warm-up), ` +
      `${options.runs} run(s) each.`,
    rows,
    notes: [
      'Redis used_memory is the whole server: anything else using it meanwhile shows up here; ' +
        "the run's own keys are measured beside it.",
    ],
    figures: { ...options, costs: Object.fromEntries(costs), memory },
  };
}

/** Drains one batch of `deliveries` through a new session; resolves with ms per delivery. */
async function drainBatch(
  context: BenchContext,
  bench: BenchQueues,
  dispatcher: BenchProcess,
  deliveries: number,
  options: GrowthOptions,
): Promise<number> {
  const { db } = context.database;
  const { queues } = bench;
  const session = await seedWahaSession(db, {
    name: `growth-${deliveries}-${Date.now()}`,
    baseUrl: context.waha.url,
    groups: options.groups,
    perSecond: 1_000_000,
  });
  await queues.deliveries.pause();
  const jobs = await seedQueuedSends(db, session, Math.ceil(deliveries / options.groups));
  await enqueueAll(queues, jobs);
  await queues.deliveries.resume();
  const outcome = await waitForAllSent(
    db,
    queues,
    session.senderId,
    jobs.length,
    120_000 + jobs.length * 20,
  ).catch((error: unknown) => {
    throw withProblems(error, [dispatcher]);
  });
  context.waha.reset();
  return (outcome.lastSentAt - outcome.firstClaimedAt) / outcome.sent;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

/** The bytes held by the keys of `prefix`, as MEMORY USAGE counts them. */
async function prefixBytes(redis: Redis, prefix: string): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    for (const key of keys) total += (await redis.memory('USAGE', key)) ?? 0;
    cursor = next;
  } while (cursor !== '0');
  return total;
}

/** Least-squares slope of cost against log10(size), as % of the smallest size's cost. */
function slopePerDecade(sizes: readonly number[], costs: Map<number, number[]>): number {
  const points = sizes.map((size) => [Math.log10(size), median(costs.get(size)!)] as const);
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / points.length;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / points.length;
  const num = points.reduce((sum, [x, y]) => sum + (x - meanX) * (y - meanY), 0);
  const den = points.reduce((sum, [x]) => sum + (x - meanX) ** 2, 0);
  return den === 0 ? 0 : (num / den / points[0]![1]) * 100;
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}
