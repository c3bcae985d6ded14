import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export interface ServiceProcess {
  child: ChildProcess;
  /** Every JSON log line the process has written to stdout so far. */
  lines: LogLine[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The first log line matching `match`; rejects if the process exits first or after `timeoutMs`. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends `signal` and resolves with the exit code and signal; rejects after `timeoutMs`. */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a service entry point (`src/main.ts`) as its own Node process, as production does,
 * reading its JSON logs. The current Node runs it, so the workspace's Node 24 is used.
 */
export function startServiceProcess(entry: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.match(line))) waiter.resolve(line);
  });

  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLog: (match, timeoutMs = 20_000) =>
      withTimeout(
        new Promise<LogLine>((resolve, reject) => {
          const found = lines.find(match);
          if (found !== undefined) return resolve(found);
          waiters.push({ match, resolve });
          void exited.then(([code]) =>
            reject(new Error(`${entry} exited with ${code} first; stderr: ${stderr}`)),
          );
        }),
        timeoutMs,
        `no matching log line from ${entry}`,
      ),
    stop: async (signal = 'SIGTERM', timeoutMs = 15_000) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, exitSignal] = await withTimeout(exited, timeoutMs, `${entry} did not exit`);
      return { code, signal: exitSignal };
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
