// Scenario 2, ingest: `POST /v2/outbound/sends` (10 groups, a fresh idempotency key per request)
// driven by autocannon at fixed connections against the API process, beside the same server's
// `GET /healthz` at the same connections in the same run (the framework's ceiling here). No
// dispatcher runs: the accepted sends' jobs wait in Redis and are deleted with the prefix, and
// their rows with the organization.
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { seedSandboxFixture, type SandboxFixture } from '../support/sandbox-fixture.ts';
import {
  type BenchContext,
  fmt,
  median,
  ratios,
  type ResultRow,
  type ScenarioReport,
} from './bench-report.ts';
import { openQueues } from './bench-dispatch.ts';
import { startApi } from './bench-processes.ts';
import { newPrefix, serviceEnv } from './bench-support.ts';

export interface IngestOptions {
  runs: number;
  connections: number;
  /** Seconds of POSTs per run. */
  duration: number;
  /** Seconds of `GET /healthz` per run. */
  healthzDuration: number;
  groups: number;
}

/** The sizes issue 8 asks for (`--full`). */
export const INGEST_FULL: IngestOptions = {
  runs: 3,
  connections: 16,
  duration: 20,
  healthzDuration: 10,
  groups: 10,
};

const TARGET_OF_HEALTHZ = 0.25;
const TARGET_P99_MS = 50;
const WARM_UP_SECONDS = 2;

interface Load {
  /** 2xx answers per second. */
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers that were not 2xx, and connection errors. */
  failures: number;
}

export async function runIngest(
  context: BenchContext,
  options: IngestOptions,
): Promise<ScenarioReport> {
  const prefix = newPrefix();
  const fixture = await seedSandboxFixture(context.database.db, {
    name: `ingest-${prefix}`,
    groups: options.groups,
  });
  const { close } = openQueues(prefix);
  // The per-key limit of the API would answer 429 long before the server's own ceiling.
  const { api, url } = await startApi(
    serviceEnv(context.database.url, prefix, { API_RATE_LIMIT_REQUESTS: '1000000000' }),
  );
  const sends: Load[] = [];
  const healthz: Load[] = [];
  try {
    await post(url, fixture, { ...options, duration: WARM_UP_SECONDS });
    await get(url, options.connections, WARM_UP_SECONDS);
    for (let run = 1; run <= options.runs; run += 1) {
      healthz.push(await get(url, options.connections, options.healthzDuration));
      sends.push(await post(url, fixture, options));
      context.log(
        `ingest run ${run}: sends ${sends.at(-1)!.perSecond.toFixed(0)}/s ` +
          `(p99 ${sends.at(-1)!.p99} ms), healthz ${healthz.at(-1)!.perSecond.toFixed(0)}/s`,
      );
    }
  } finally {
    await api.stop();
    await close();
    // Its deliveries stay queued with no job: later dispatchers' sweepers would deliver them.
    await context.database.db
      .deleteFrom('organizations')
      .where('id', '=', fixture.organizationId)
      .execute();
  }

  const failures = sends.reduce((sum, load) => sum + load.failures, 0);
  const toHealthz = ratios(
    sends.map((load) => load.perSecond),
    healthz.map((load) => load.perSecond),
  );
  const scenario = '2. ingest';
  const rows: ResultRow[] = [
    {
      scenario,
      measure: 'accepted sends/s vs GET /healthz/s',
      value: fmt(sends.map((load) => load.perSecond)),
      baseline: fmt(healthz.map((load) => load.perSecond)),
      ratio: fmt(toHealthz, 3),
      target: `≥ ${TARGET_OF_HEALTHZ} × healthz`,
      pass: median(toHealthz) >= TARGET_OF_HEALTHZ,
    },
    {
      scenario,
      measure: 'POST latency p50 (ms)',
      value: fmt(sends.map((load) => load.p50)),
      baseline: fmt(healthz.map((load) => load.p50)),
    },
    {
      scenario,
      measure: 'POST latency p99 (ms)',
      value: fmt(sends.map((load) => load.p99)),
      baseline: fmt(healthz.map((load) => load.p99)),
      target: `< ${TARGET_P99_MS} ms`,
      pass: median(sends.map((load) => load.p99)) < TARGET_P99_MS,
    },
    {
      scenario,
      measure: 'POST latency max (ms)',
      value: fmt(sends.map((load) => load.max)),
      baseline: fmt(healthz.map((load) => load.max)),
    },
  ];
  return {
    name: 'Ingest',
    description:
      `POST /v2/outbound/sends with ${options.groups} groups and a fresh idempotency key each, ` +
      `${options.duration} s per run at ${options.connections} connections, beside GET /healthz ` +
      `for ${options.healthzDuration} s at the same connections; one API process, no dispatcher; ` +
      `${options.runs} runs, median (min–max).`,
    rows,
    notes: failures === 0 ? [] : [`${failures} POSTs were not answered 2xx.`],
    figures: { ...options, sends, healthz },
  };
}

async function post(url: string, fixture: SandboxFixture, options: IngestOptions): Promise<Load> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.duration,
    requests: [
      {
        method: 'POST',
        path: '/v2/outbound/sends',
        headers: fixture.headers,
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({
            session_id: fixture.sessionId,
            group_ids: fixture.groupIds,
            idempotency_key: randomUUID(),
            text: 'ingest benchmark',
          }),
        }),
      },
    ],
  });
  return loadOf(result);
}

async function get(url: string, connections: number, duration: number): Promise<Load> {
  return loadOf(await autocannon({ url: `${url}/healthz`, connections, duration }));
}

function loadOf(result: autocannon.Result): Load {
  return {
    perSecond: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    failures: result.non2xx + result.errors,
  };
}
