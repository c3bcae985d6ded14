import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@outbound/config';
import { createApiKey } from '@outbound/db';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
} from '@outbound/test/harness';
import { startServiceProcess, type ServiceProcess } from '@outbound/test/service-process';
import express from 'express';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPrincipal } from '../auth/principal.ts';
import { errorHandler } from '../errors/error.middleware.ts';
import { startServer } from '../server.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp } from '../test-support/test-app.ts';
import { apiRateLimit } from './api-rate-limit.middleware.ts';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
const LIMIT = 5;
const redis = createTestRedis();
let database: TestDatabase;
let acme: SeededOrganization;

beforeAll(async () => {
  database = await createTestDatabase();
  acme = await seedOrganization(database.db);
});

afterAll(async () => {
  await database.drop();
  await redis.clear();
});

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

async function startApi(
  env: Record<string, string>,
): Promise<{ url: string; api: ServiceProcess }> {
  const api = startServiceProcess(
    MAIN,
    testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }),
  );
  const listening = await api.waitForLog((line) => typeof line.url === 'string');
  return { url: String(listening.url), api };
}

describe('the per-API-key rate limit across two API processes', () => {
  let first: { url: string; api: ServiceProcess };
  let second: { url: string; api: ServiceProcess };

  beforeAll(async () => {
    const env = {
      API_RATE_LIMIT_REQUESTS: String(LIMIT),
      API_RATE_LIMIT_WINDOW_SECONDS: '60',
    };
    [first, second] = await Promise.all([startApi(env), startApi(env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([first?.api.stop(), second?.api.stop()]);
  });

  it('counts one key on both processes and answers 429 with Retry-After past the limit', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < LIMIT; i += 1) {
      const url = i % 2 === 0 ? first.url : second.url;
      const response = await fetch(`${url}/v2/me`, { headers: acme.headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBe(String(LIMIT));
      expect(Number(response.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60);
      remaining.push(response.headers.get('ratelimit-remaining') ?? '');
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0']);

    for (const url of [second.url, first.url]) {
      const refused = await fetch(`${url}/v2/me`, { headers: acme.headers });
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(refused.headers.get('ratelimit-reset')).toBe(String(retryAfter));
      expect(await refused.json()).toEqual({
        error: {
          code: 'rate_limited',
          message: expect.stringContaining(`${LIMIT} requests per 60 s`) as unknown,
          details: { limit: LIMIT, window_seconds: 60, retry_after_seconds: retryAfter },
        },
        request_id: refused.headers.get('x-request-id'),
      });
    }

    // A write is refused before its body is even read.
    const write = await fetch(`${first.url}/v2/outbound/sends`, {
      method: 'POST',
      headers: { ...acme.headers, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(write.status).toBe(429);
  });

  it('leaves another key of the same organization alone', async () => {
    const other = await createApiKey(database.db, {
      organizationId: acme.organizationId,
      actorUserId: 'user-other',
    });
    const response = await fetch(`${second.url}/v2/me`, { headers: bearer(other.key) });
    expect(response.status).toBe(200);
    expect(response.headers.get('ratelimit-remaining')).toBe(String(LIMIT - 1));
  });

  it('never limits health, readiness, metrics, the document or the docs page', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      for (let i = 0; i <= LIMIT; i += 1) {
        const response = await fetch(`${first.url}${path}`, { headers: acme.headers });
        expect(response.status, path).toBe(200);
        expect(response.headers.get('ratelimit-limit'), path).toBeNull();
      }
    }
  });
});

describe('the per-API-key rate limit in one process', () => {
  it('lets the key through again once the window has passed', async () => {
    const globex = await seedOrganization(database.db, 'Globex');
    const api = await startTestApp(database, redis, {
      env: { API_RATE_LIMIT_REQUESTS: '2', API_RATE_LIMIT_WINDOW_SECONDS: '1' },
    });
    try {
      const call = () => fetch(`${api.url}/v2/me`, { headers: globex.headers });
      // The key's first request opens its window.
      expect((await call()).status).toBe(200);
      expect((await call()).status).toBe(200);
      let response = await call();
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('1');
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      response = await call();
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-remaining')).toBe('1');
    } finally {
      await api.stop();
    }
  });

  it('is off, with no headers, when API_RATE_LIMIT_REQUESTS is 0', async () => {
    const api = await startTestApp(database, redis, { env: { API_RATE_LIMIT_REQUESTS: '0' } });
    try {
      for (let i = 0; i < 3; i += 1) {
        const response = await fetch(`${api.url}/v2/me`, { headers: acme.headers });
        expect(response.status).toBe(200);
        expect(response.headers.get('ratelimit-limit')).toBeNull();
      }
    } finally {
      await api.stop();
    }
  });

  it('lets requests through, and logs it once, while Redis is down', async () => {
    // Nothing listens on port 1.
    const api = await startTestApp(database, redis, {
      redisUrl: 'redis://127.0.0.1:1',
      env: { API_RATE_LIMIT_REQUESTS: '1' },
    });
    try {
      for (let i = 0; i < 3; i += 1) {
        const response = await fetch(`${api.url}/v2/me`, { headers: acme.headers });
        expect(response.status).toBe(200);
        expect(response.headers.get('ratelimit-limit')).toBeNull();
      }
      const warnings = api.logs().filter((line) => String(line.msg).startsWith('API rate limit'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40 });
    } finally {
      await api.stop();
    }
  });
});

describe('apiRateLimit with a Redis that stops answering', () => {
  let relay: Server;
  let frozen = false;
  const sockets = new Set<Socket>();

  // A relay to the test Redis that, once frozen, swallows every command: a hung Redis whose
  // connection stays up (ioredis stays "ready", so only the timeout can notice).
  beforeAll(async () => {
    const target = new URL(redis.url);
    relay = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {});
      }
      client.on('data', (chunk) => {
        if (!frozen) upstream.write(chunk);
      });
      upstream.on('data', (chunk) => client.write(chunk));
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => relay.close(resolve));
  });

  it('gives up after its timeout and lets the request through', async () => {
    const port = (relay.address() as AddressInfo).port;
    const hung = new Redis({ port, host: '127.0.0.1', enableOfflineQueue: false });
    hung.on('error', () => {});
    await once(hung, 'ready');
    const logger = createLogger({ LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }, { name: 'test' });
    const app = express();
    app.use((_req, res, next) => {
      setPrincipal(res, { organizationId: 'o', actorUserId: 'a', apiKeyId: 'k' });
      next();
    });
    app.use(
      apiRateLimit({ redis: hung, prefix: redis.prefix, requests: 1, windowSeconds: 60, logger }),
    );
    app.get('/', (_req, res) => void res.json({ ok: true }));
    app.use(errorHandler(logger));
    const server = await startServer(app, { host: '127.0.0.1', port: 0, shutdownTimeoutMs: 100 });
    try {
      const first = await fetch(server.url);
      expect(first.headers.get('ratelimit-remaining')).toBe('0');
      frozen = true;
      for (let i = 0; i < 2; i += 1) {
        const started = Date.now();
        const response = await fetch(server.url);
        expect(response.status).toBe(200);
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      }
    } finally {
      await server.close();
      hung.disconnect();
    }
  });
});
