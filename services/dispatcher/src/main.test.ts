import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

interface LogLine {
  msg: string;
  [field: string]: unknown;
}

/** Collects the child's JSON log lines and resolves `waitFor` when a line with `msg` appears. */
function watchLogs(child: ChildProcess) {
  const lines: LogLine[] = [];
  const waiters: { msg: string; resolve: (line: LogLine) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.msg === line.msg)) waiter.resolve(line);
  });
  return {
    lines,
    waitFor: (msg: string) =>
      new Promise<LogLine>((resolve, reject) => {
        const found = lines.find((line) => line.msg === msg);
        if (found !== undefined) return resolve(found);
        waiters.push({ msg, resolve });
        child.once('exit', (code) => reject(new Error(`exited with ${code} before "${msg}"`)));
      }),
  };
}

describe('dispatcher process', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
  });
  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await redis.clear();
    await database.drop();
  });

  it('migrates, logs readiness, and exits 0 on SIGTERM', async () => {
    child = spawn(process.execPath, [MAIN], {
      env: testEnv(database, redis, { LOG_LEVEL: 'info', MIGRATE_ON_START: 'true' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const logs = watchLogs(child);

    const ready = await logs.waitFor('dispatcher ready');
    expect(ready).toMatchObject({ name: 'dispatcher', queues: ['deliveries', 'scheduler'] });

    child.kill('SIGTERM');
    const bound = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error('the dispatcher did not exit within 10 s')),
        10_000,
      ).unref(),
    );
    const [code, signal] = await Promise.race([exited, bound]);
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(logs.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'migrations applied',
        'shutting down: finishing jobs in progress',
        'dispatcher stopped',
      ]),
    );
  });
});
