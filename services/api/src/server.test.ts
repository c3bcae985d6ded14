import { connect } from 'node:net';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRoute } from './routing/route.ts';
import { startTestApp, type TestApp } from './test-support/test-app.ts';

/** A route that answers only when the test says so, and tells the test when it has started. */
function slowRoute() {
  const started = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const route = defineRoute({
    method: 'get',
    path: '/test/slow',
    operationId: 'testSlow',
    summary: 'Answers when released',
    auth: 'none',
    responses: { 200: { description: 'Done.', schema: z.object({ done: z.literal(true) }) } },
  }).handle(async () => {
    started.resolve();
    await gate.promise;
    return { status: 200, body: { done: true } };
  });
  return { route, started: started.promise, release: () => gate.resolve() };
}

function tryConnect(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

const redis = createTestRedis();
let database: TestDatabase;
const started: TestApp[] = [];

async function start(shutdownTimeoutMs: number, slow: ReturnType<typeof slowRoute>) {
  const api = await startTestApp(database, redis, {
    shutdownTimeoutMs,
    // Idle connections would outlive the test: close() must end them itself.
    keepAliveTimeoutMs: 600_000,
    routes: [slow.route],
  });
  started.push(api);
  return api;
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(started.map((api) => api.stop()));
  await database.drop();
  await redis.clear();
});

describe('startServer close()', () => {
  it('finishes an in-flight request, refuses new connections, then resolves', async () => {
    const slow = slowRoute();
    // Long enough that a connection left open would fail the test by its timeout.
    const api = await start(600_000, slow);
    const idle = await fetch(`${api.url}/healthz`); // leaves an idle keep-alive connection
    expect(idle.status).toBe(200);
    await idle.text();

    const pending = fetch(`${api.url}/test/slow`);
    await slow.started;
    let closed = false;
    const closing = api.close().then(() => {
      closed = true;
    });

    await expect(tryConnect(api.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(closed).toBe(false);

    slow.release();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await closing;
    expect(closed).toBe(true);
  });

  it('drops requests still running after the shutdown timeout', async () => {
    const slow = slowRoute();
    const api = await start(50, slow);
    const pending = fetch(`${api.url}/test/slow`);
    await slow.started;
    await api.close();
    await expect(pending).rejects.toThrow();
    slow.release();
  });

  it('can be called twice', async () => {
    const slow = slowRoute();
    const api = await start(1_000, slow);
    await Promise.all([api.close(), api.close()]);
    await expect(tryConnect(api.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
