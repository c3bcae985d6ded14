import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
const started: TestApp[] = [];

async function start(options: Parameters<typeof startTestApp>[2]): Promise<TestApp> {
  const api = await startTestApp(database, redis, options);
  started.push(api);
  return api;
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(started.map((api) => api.stop()));
  await database.drop();
  await redis.clear();
});

describe('Bull Board at /admin/queues', () => {
  it('asks for the admin credentials when they are configured', async () => {
    const api = await start({ adminAuth: { username: 'ops', password: 's3cret' } });
    for (const authorization of [undefined, basic('ops', 'wrong'), basic('other', 's3cret')]) {
      const response = await fetch(`${api.url}/admin/queues`, {
        headers: authorization === undefined ? {} : { Authorization: authorization },
      });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect((await readError(response)).error.code).toBe('unauthorized');
    }
  });

  it('shows the queues to the admin', async () => {
    const api = await start({ adminAuth: { username: 'ops', password: 's3cret' } });
    const headers = { Authorization: basic('ops', 's3cret') };
    const page = await fetch(`${api.url}/admin/queues`, { headers });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, { headers });
    expect(queues.status).toBe(200);
    const names = ((await queues.json()) as { queues: { name: string }[] }).queues.map(
      (queue) => queue.name,
    );
    expect(names.sort()).toEqual(Object.keys(api.queues).sort());
  });

  it('refuses everyone when no admin credentials are configured', async () => {
    const api = await start({});
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const response = await fetch(`${api.url}${path}`, {
        headers: { Authorization: basic('ops', 's3cret') },
      });
      expect(response.status).toBe(403);
      expect((await readError(response)).error.message).toMatch(/ADMIN_USERNAME/);
    }
  });
});
