import { createSender } from '@outbound/db';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let sending: string;
let receiving: string;
let stopped: string;
let emailSenderId: string;
let otherSession: string;
let inBoth: string;
let onlyReceiving: string;
let otherGroup: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sending = await seedSession(database.db, acme.organizationId, { name: 'sales' });
  receiving = await seedSession(database.db, acme.organizationId, {
    name: 'inbox',
    role: 'receiving',
  });
  stopped = await seedSession(database.db, acme.organizationId, {
    name: 'old',
    status: 'STOPPED',
  });
  emailSenderId = (
    await createSender(database.db, new CredentialsCipher(randomBytes(32).toString('base64')), {
      organizationId: acme.organizationId,
      channel: 'email',
      provider: 'sandbox',
      name: 'mail',
      rateLimit: SANDBOX_RATE_LIMIT,
    })
  ).id;
  otherSession = await seedSession(database.db, other.organizationId, { name: 'theirs' });
  [inBoth] = (await seedGroups(database.db, acme.organizationId, [sending, receiving], 1)) as [
    string,
  ];
  [onlyReceiving] = (await seedGroups(database.db, acme.organizationId, [receiving], 1)) as [
    string,
  ];
  [otherGroup] = (await seedGroups(database.db, other.organizationId, [otherSession], 1)) as [
    string,
  ];
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

function get(path: string, org: SeededOrganization = acme): Promise<Response> {
  return fetch(`${api.url}${path}`, { headers: org.headers });
}

describe('GET /v2/sessions', () => {
  it("lists the organization's WhatsApp sessions with role and status, nothing else", async () => {
    const response = await get('/v2/sessions');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { sessions: Record<string, unknown>[] };
    expect(body.sessions).toEqual([
      { id: sending, name: 'sales', label: 'sales label', role: 'sending', status: 'WORKING' },
      { id: receiving, name: 'inbox', label: 'inbox label', role: 'receiving', status: 'WORKING' },
      { id: stopped, name: 'old', label: 'old label', role: 'sending', status: 'STOPPED' },
    ]);
    expect(JSON.stringify(body)).not.toContain(emailSenderId);
  });

  it('shows another organization only its own sessions', async () => {
    const body = (await (await get('/v2/sessions', other)).json()) as {
      sessions: { id: string }[];
    };
    expect(body.sessions.map((session) => session.id)).toEqual([otherSession]);
  });

  it('needs an API key', async () => {
    expect((await fetch(`${api.url}/v2/sessions`)).status).toBe(401);
  });
});

describe('GET /v2/groups', () => {
  type Groups = { groups: { id: string; name: string; chat_id: string; session_ids: string[] }[] };

  it("lists the organization's groups with the sessions each is present in", async () => {
    const response = await get('/v2/groups');
    expect(response.status).toBe(200);
    const body = (await response.json()) as Groups;
    expect(body.groups.map((group) => group.id)).toEqual([inBoth, onlyReceiving]);
    expect(body.groups[0]?.session_ids.sort()).toEqual([sending, receiving].sort());
    expect(body.groups[0]?.chat_id).toMatch(/@g\.us$/);
    expect(Object.keys(body.groups[0] ?? {}).sort()).toEqual([
      'chat_id',
      'id',
      'name',
      'session_ids',
    ]);
  });

  it('filters by session_id', async () => {
    const body = (await (await get(`/v2/groups?session_id=${sending}`)).json()) as Groups;
    expect(body.groups.map((group) => group.id)).toEqual([inBoth]);
  });

  it('shows another organization only its own groups', async () => {
    const body = (await (await get('/v2/groups', other)).json()) as Groups;
    expect(body.groups.map((group) => group.id)).toEqual([otherGroup]);
  });

  it("answers another organization's session_id with 404", async () => {
    const response = await get(`/v2/groups?session_id=${otherSession}`);
    expect(response.status).toBe(404);
    expect((await readError(response)).error.message).toBe(`session ${otherSession} not found`);
  });

  it('answers a non-WhatsApp sender id with 404', async () => {
    expect((await get(`/v2/groups?session_id=${emailSenderId}`)).status).toBe(404);
  });

  it('refuses a bad or unknown query parameter with 400', async () => {
    expect((await get('/v2/groups?session_id=nope')).status).toBe(400);
    const unknown = await get('/v2/groups?sesion_id=x');
    expect(unknown.status).toBe(400);
    expect((await readError(unknown)).error.message).toContain('sesion_id');
  });
});
