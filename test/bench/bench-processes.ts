// The processes a benchmark measures: dispatchers, the API and bare BullMQ workers, each its own
// Node process as production runs them, with their per-delivery info logs left unparsed.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { LogLine } from '../support/service-process.ts';
import { redisUrl, root } from './bench-support.ts';

/** A measured process. Unlike the tests' `ServiceProcess`, it keeps no info lines. */
export interface BenchProcess {
  child: ChildProcess;
  /** The first log line matching `match` from now on (or already seen while a wait was open). */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Warnings and errors it logged (the first 50). */
  problems(): LogLine[];
  /** Resident set size now, in bytes (`VmRSS` of /proc). */
  rssBytes(): number;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Pino's info level: such lines are skipped unparsed unless a wait is open. */
const INFO = '"level":30';

export function startBenchProcess(entry: string, env: Record<string, string>): BenchProcess {
  const child = spawn(process.execPath, [entry], {
    env: {
      PATH: process.env.PATH ?? '',
      // e.g. BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=reports/profiles" to profile them.
      ...(process.env.BENCH_NODE_OPTIONS === undefined
        ? {}
        : { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // 'close' comes after stdout has been read to its end, so a last line is never missed.
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const problems: LogLine[] = [];
  const waiters = new Set<{ match: (line: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 20_000) stderr += chunk.toString('utf8');
  });
  createInterface({ input: child.stdout }).on('line', (text) => {
    if (waiters.size === 0 && text.includes(INFO)) return;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    if (typeof line.level === 'number' && line.level >= 40 && problems.length < 50) {
      problems.push(line);
    }
    for (const waiter of waiters) {
      if (!waiter.match(line)) continue;
      waiters.delete(waiter);
      waiter.resolve(line);
    }
  });

  return {
    child,
    waitForLog: (match, timeoutMs = 30_000) =>
      new Promise<LogLine>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching log line from ${entry} within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (line: LogLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.add(waiter);
        void closed.then(([code]) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`${entry} exited with ${code}; stderr: ${stderr}`));
        });
      }),
    problems: () => [...problems],
    rssBytes: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      if (kb === undefined) throw new Error(`no VmRSS for process ${child.pid}`);
      return Number(kb) * 1_024;
    },
    stop: async (timeoutMs = 15_000) => {
      const running = child.exitCode === null && child.signalCode === null;
      if (running) child.kill('SIGTERM');
      const timer = running ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
      await closed;
      clearTimeout(timer);
    },
  };
}

export async function stopAll(processes: readonly BenchProcess[]): Promise<void> {
  await Promise.all(processes.map((process) => process.stop()));
}

/** `count` dispatcher processes (`services/dispatcher/src/main.ts`), once each is ready. */
export async function startDispatchers(
  env: Record<string, string>,
  count: number,
): Promise<BenchProcess[]> {
  const started = Array.from({ length: count }, () =>
    startBenchProcess(root('services/dispatcher/src/main.ts'), env),
  );
  try {
    await Promise.all(
      started.map((dispatcher) => dispatcher.waitForLog((line) => line.msg === 'dispatcher ready')),
    );
    return started;
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

/** The API process (`services/api/src/main.ts`) and its URL, once it listens. */
export async function startApi(
  env: Record<string, string>,
): Promise<{ api: BenchProcess; url: string }> {
  const api = startBenchProcess(root('services/api/src/main.ts'), env);
  try {
    const line = await api.waitForLog((log) => typeof log.url === 'string');
    return { api, url: String(line.url) };
  } catch (error) {
    await api.stop();
    throw error;
  }
}

export interface BareWorkerOptions {
  prefix: string;
  queueName: string;
  concurrency: number;
  /** When given, each job POSTs one WAHA `sendText` there (baseline A); else it does nothing. */
  providerUrl?: string;
}

/** What a bare worker did, as it reports on SIGTERM. */
export interface BareWorkerStats {
  jobs: number;
  /** Epoch ms when its first job started, and when its last one finished; 0 without jobs. */
  firstStartedAt: number;
  lastFinishedAt: number;
  /** Finish − `due_at` of each job whose data has a `due_at` (epoch ms). */
  lags: number[];
}

export interface BareWorker {
  process: BenchProcess;
  /** Closes the worker and resolves with its figures. */
  stop(): Promise<BareWorkerStats>;
}

/** `count` bare BullMQ worker processes (`bare-worker.ts`), once each is ready. */
export async function startBareWorkers(
  count: number,
  options: BareWorkerOptions,
): Promise<BareWorker[]> {
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: options.prefix,
    QUEUE_NAME: options.queueName,
    CONCURRENCY: String(options.concurrency),
    ...(options.providerUrl === undefined ? {} : { PROVIDER_URL: options.providerUrl }),
  };
  const processes = Array.from({ length: count }, () =>
    startBenchProcess(root('test/bench/bare-worker.ts'), env),
  );
  try {
    await Promise.all(processes.map((worker) => worker.waitForLog((line) => line.msg === 'ready')));
  } catch (error) {
    await stopAll(processes);
    throw error;
  }
  return processes.map((process) => ({
    process,
    stop: async () => {
      const stats = process.waitForLog((line) => line.msg === 'stopped');
      await process.stop();
      const line = await stats;
      return {
        jobs: Number(line.jobs),
        firstStartedAt: Number(line.first_started_at),
        lastFinishedAt: Number(line.last_finished_at),
        lags: line.lags as number[],
      };
    },
  }));
}

/** `error`, with the first warnings the measured processes logged, for a failed measurement. */
export function withProblems(error: unknown, processes: readonly BenchProcess[]): Error {
  const problems = processes.flatMap((process) => process.problems()).slice(0, 5);
  const message = error instanceof Error ? error.message : String(error);
  if (problems.length === 0) return error instanceof Error ? error : new Error(message);
  return new Error(`${message}; the processes logged: ${JSON.stringify(problems)}`, {
    cause: error,
  });
}
