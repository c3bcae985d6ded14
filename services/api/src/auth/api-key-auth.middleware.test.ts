import { createApiKey, createDb, createOrganization, revokeApiKey } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let organizationId: string;
let liveKey: string;
let revokedKey: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  const organization = await createOrganization(database.db, 'Acme');
  organizationId = organization.id;
  liveKey = (await createApiKey(database.db, { organizationId, actorUserId: 'user-live' })).key;
  const revoked = await createApiKey(database.db, { organizationId, actorUserId: 'user-gone' });
  revokedKey = revoked.key;
  expect(await revokeApiKey(database.db, revoked.record.id)).toBe(true);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

function me(headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${api.url}/v2/me`, { headers });
}

async function expectUnauthorized(response: Response, reason: string): Promise<void> {
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  const body = await readError(response);
  expect(body.error.code).toBe('unauthorized');
  expect(body.error.details).toEqual({ reason });
}

describe('API-key authentication', () => {
  it('refuses a request without a key', async () => {
    await expectUnauthorized(await me(), 'missing');
  });

  it('refuses a malformed Authorization header', async () => {
    await expectUnauthorized(await me({ Authorization: `Basic ${liveKey}` }), 'malformed');
    await expectUnauthorized(await me({ Authorization: 'Bearer' }), 'malformed');
  });

  it('refuses a well-formed key that does not exist', async () => {
    const unknown = `ob_${'a'.repeat(12)}_${'b'.repeat(32)}`;
    await expectUnauthorized(await me({ Authorization: `Bearer ${unknown}` }), 'invalid');
    await expectUnauthorized(await me({ 'X-API-Key': 'not-a-key' }), 'invalid');
  });

  it('refuses a known prefix with the wrong secret', async () => {
    const forged = `${liveKey.slice(0, -4)}AAAA`;
    expect(forged).not.toBe(liveKey);
    await expectUnauthorized(await me({ 'X-API-Key': forged }), 'invalid');
  });

  it('refuses a revoked key', async () => {
    await expectUnauthorized(await me({ Authorization: `Bearer ${revokedKey}` }), 'invalid');
    await expectUnauthorized(await me({ 'X-API-Key': revokedKey }), 'invalid');
  });

  it('accepts a live key as a bearer token', async () => {
    const response = await me({ Authorization: `Bearer ${liveKey}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      organization_id: organizationId,
      actor_user_id: 'user-live',
    });
  });

  it('accepts a live key in X-API-Key', async () => {
    const response = await me({ 'X-API-Key': liveKey });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      organization_id: organizationId,
      actor_user_id: 'user-live',
    });
  });

  it('logs the request id and organization, and never the key', async () => {
    const requestId = 'auth-log-check-1';
    const response = await me({ Authorization: `Bearer ${liveKey}`, 'X-Request-Id': requestId });
    expect(response.status).toBe(200);
    await me({ 'X-API-Key': liveKey, 'X-Request-Id': 'auth-log-check-2' });

    // The access line is written when the response finishes, which the client may see first.
    const lines = await vi.waitFor(() => {
      const logged = api.logs();
      for (const id of [requestId, 'auth-log-check-2']) {
        expect(logged.some((line) => line.request_id === id && 'res' in line)).toBe(true);
      }
      return logged;
    });
    const access = lines.find((line) => line.request_id === requestId);
    expect(access).toMatchObject({ organization_id: organizationId, res: { statusCode: 200 } });
    expect(JSON.stringify(lines)).not.toContain(liveKey);
    expect(JSON.stringify(lines)).not.toContain(liveKey.split('_')[2]);
  });

  it('answers 503 service_unavailable when the database cannot be reached', async () => {
    const db = createDb({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    const down = await startTestApp(database, redis, { db });
    try {
      const response = await fetch(`${down.url}/v2/me`, {
        headers: { Authorization: `Bearer ${liveKey}` },
      });
      expect(response.status).toBe(503);
      const body = await readError(response);
      expect(body.error.code).toBe('service_unavailable');
    } finally {
      await down.stop();
      await db.destroy();
    }
  });
});
