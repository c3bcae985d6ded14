// The benchmark suite of issue 8: `pnpm bench` runs every scenario, `pnpm bench:<scenario>` one.
//
//   node test/bench/bench.ts [throughput|ingest|due|rate|growth ...] [--full] [--runs N]
//     throughput: --deliveries N --groups N --processes 1,2 --concurrency N
//     ingest:     --connections N --duration S --healthz-duration S
//     due:        --sends N --dispatchers N --email
//     rate:       --deliveries N --limit N --dispatchers N
//     growth:     --sizes 1000,10000,100000 --warm-up N
//
// Each scenario prints its table as it ends and writes reports/bench-<scenario>.json; a run of
// several also prints them all in one table and writes reports/bench-all.json. Without
// `--full`, sizes are cut so the whole suite fits in 10 minutes on 2 cores (see DEFAULTS).
import { parseArgs } from 'node:util';
import { startWahaServer } from '../fakes/waha-server.ts';
import {
  type BenchContext,
  renderReport,
  renderTable,
  type ScenarioReport,
  writeJson,
} from './bench-report.ts';
import { createBenchDatabase } from './bench-support.ts';
import { DUE_LAG_FULL, runDueLag } from './due-lag.scenario.ts';
import { GROWTH_FULL, runGrowth } from './growth.scenario.ts';
import { INGEST_FULL, runIngest } from './ingest.scenario.ts';
import { RATE_LIMIT_FULL, runRateLimit } from './rate-limit.scenario.ts';
import { runThroughput, THROUGHPUT_FULL } from './throughput.scenario.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    full: { type: 'boolean', default: false },
    runs: { type: 'string' },
    concurrency: { type: 'string' },
    deliveries: { type: 'string' },
    groups: { type: 'string' },
    processes: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    'healthz-duration': { type: 'string' },
    sends: { type: 'string' },
    dispatchers: { type: 'string' },
    email: { type: 'boolean', default: false },
    limit: { type: 'string' },
    sizes: { type: 'string' },
    'warm-up': { type: 'string' },
  },
});

const SCENARIOS = ['throughput', 'ingest', 'due', 'rate', 'growth'] as const;
type Scenario = (typeof SCENARIOS)[number];

/**
 * What `pnpm bench` runs without `--full`: the sizes cut to what today's dispatcher
 * drains within the 10-minute budget on this 2-core machine. Raise them as it gets faster.
 */
const DEFAULTS = {
  throughput: { ...THROUGHPUT_FULL, deliveries: 1_000 },
  ingest: { ...INGEST_FULL, duration: 10, healthzDuration: 5 },
  due: { ...DUE_LAG_FULL, sends: 1_000 },
  rate: { ...RATE_LIMIT_FULL, runs: 1 },
  growth: { ...GROWTH_FULL, sizes: [1_000, 10_000], warmUp: 500 },
};
const FULL = {
  throughput: THROUGHPUT_FULL,
  ingest: INGEST_FULL,
  due: DUE_LAG_FULL,
  rate: RATE_LIMIT_FULL,
  growth: GROWTH_FULL,
};

const selected: Scenario[] =
  positionals.length === 0
    ? [...SCENARIOS]
    : positionals.map((name) => {
        if (!(SCENARIOS as readonly string[]).includes(name)) {
          throw new Error(`unknown scenario "${name}"; one of ${SCENARIOS.join(', ')}`);
        }
        return name as Scenario;
      });

const preset = args.full ? FULL : DEFAULTS;
const int = (value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`not a positive integer: ${value}`);
  return parsed;
};
const list = (value: string | undefined, fallback: number[]): number[] =>
  value === undefined ? fallback : value.split(',').map((item) => int(item, 0));

function run(scenario: Scenario, context: BenchContext): Promise<ScenarioReport> {
  switch (scenario) {
    case 'throughput': {
      const base = preset.throughput;
      return runThroughput(context, {
        deliveries: int(args.deliveries, base.deliveries),
        groups: int(args.groups, base.groups),
        runs: int(args.runs, base.runs),
        concurrency: int(args.concurrency, base.concurrency),
        processes: list(args.processes, base.processes),
      });
    }
    case 'ingest': {
      const base = preset.ingest;
      return runIngest(context, {
        runs: int(args.runs, base.runs),
        connections: int(args.connections, base.connections),
        duration: int(args.duration, base.duration),
        healthzDuration: int(args['healthz-duration'], base.healthzDuration),
        groups: int(args.groups, base.groups),
      });
    }
    case 'due': {
      const base = preset.due;
      return runDueLag(context, {
        sends: int(args.sends, base.sends),
        dispatchers: int(args.dispatchers, base.dispatchers),
        runs: int(args.runs, base.runs),
        concurrency: int(args.concurrency, base.concurrency),
        email: args.email,
      });
    }
    case 'rate': {
      const base = preset.rate;
      return runRateLimit(context, {
        deliveries: int(args.deliveries, base.deliveries),
        limit: int(args.limit, base.limit),
        dispatchers: int(args.dispatchers, base.dispatchers),
        runs: int(args.runs, base.runs),
        groups: int(args.groups, base.groups),
        concurrency: int(args.concurrency, base.concurrency),
      });
    }
    case 'growth': {
      const base = preset.growth;
      return runGrowth(context, {
        sizes: list(args.sizes, base.sizes),
        runs: int(args.runs, base.runs),
        warmUp: int(args['warm-up'], base.warmUp),
        groups: int(args.groups, base.groups),
        concurrency: int(args.concurrency, base.concurrency),
      });
    }
  }
}

const started = performance.now();
const database = await createBenchDatabase();
const waha = await startWahaServer();
const context: BenchContext = {
  database,
  waha,
  log: (line) => process.stderr.write(`${line}\n`),
};
const reports: ScenarioReport[] = [];
try {
  for (const scenario of selected) {
    const scenarioStarted = performance.now();
    const report = await run(scenario, context);
    const seconds = (performance.now() - scenarioStarted) / 1_000;
    reports.push(report);
    process.stdout.write(renderReport(report));
    process.stdout.write(`(${seconds.toFixed(0)} s)\n`);
    writeJson(`reports/bench-${scenario}.json`, { ...report, seconds });
  }
} finally {
  await waha.stop();
  await database.drop();
}
const minutes = (performance.now() - started) / 60_000;
if (reports.length > 1) {
  process.stdout.write(`\n## All scenarios (${minutes.toFixed(1)} min)\n\n`);
  process.stdout.write(renderTable(reports.flatMap((report) => report.rows)));
  writeJson('reports/bench-all.json', { minutes, full: args.full, reports });
}
