import { recordEvents, relayEvents } from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { callAs } from '../test-support/security-world.ts';
import { changedTables, tableFingerprint } from '../test-support/table-fingerprint.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import {
  createWebhookResponseSchema,
  getWebhookResponseSchema,
  listWebhooksResponseSchema,
  WEBHOOK_LIMITS,
} from './webhooks.schema.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

/** A public IP literal: no DNS lookup, and nothing is ever called (no dispatcher runs here). */
const PUBLIC_URL = 'https://93.184.216.34/outbound/events';

async function createWebhook(tenant: SeededOrganization, body: unknown) {
  const response = await callAs(api.url, tenant, 'POST', '/v2/webhooks', body);
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return createWebhookResponseSchema.parse(JSON.parse(text)).webhook;
}

async function getWebhook(tenant: SeededOrganization, id: string) {
  const response = await callAs(api.url, tenant, 'GET', `/v2/webhooks/${id}`);
  expect(response.status).toBe(200);
  return getWebhookResponseSchema.parse(await response.json()).webhook;
}

describe('webhook endpoints', () => {
  it('answers 201 with the secret once, and seals the secret at rest', async () => {
    const created = await createWebhook(acme, {
      url: PUBLIC_URL,
      events: ['send.sent', 'delivery.failed', 'send.sent'],
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.events).toEqual(['send.sent', 'delivery.failed']);
    expect(created.url).toBe(PUBLIC_URL);

    const row = await database.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', created.webhook_id)
      .executeTakeFirstOrThrow();
    expect(row.organization_id).toBe(acme.organizationId);
    expect(row.secret_sealed).not.toContain(created.secret);
    expect(row.secret_sealed).not.toContain(created.secret.slice('whsec_'.length, 20));
    const cipher = new CredentialsCipher(api.config.CREDENTIALS_ENCRYPTION_KEY);
    expect(cipher.open(row.secret_sealed)).toEqual({ secret: created.secret });

    for (const path of ['/v2/webhooks', `/v2/webhooks/${created.webhook_id}`]) {
      const text = await (await callAs(api.url, acme, 'GET', path)).text();
      expect(text).toContain(created.webhook_id);
      expect(text).not.toContain(created.secret);
      expect(text).not.toContain('whsec_');
    }
  });

  it("lists the organization's own endpoints only, oldest first", async () => {
    const first = await createWebhook(other, { url: `${PUBLIC_URL}/1`, events: ['*'] });
    const second = await createWebhook(other, {
      url: `${PUBLIC_URL}/2`,
      events: ['draft.ready_for_review'],
    });
    const response = await callAs(api.url, other, 'GET', '/v2/webhooks');
    expect(response.status).toBe(200);
    const { webhooks } = listWebhooksResponseSchema.parse(await response.json());
    expect(webhooks.map((webhook) => webhook.webhook_id)).toEqual([
      first.webhook_id,
      second.webhook_id,
    ]);
    expect(webhooks[0]).toEqual({
      webhook_id: first.webhook_id,
      url: `${PUBLIC_URL}/1`,
      events: ['*'],
      created_at_ms: first.created_at_ms,
    });
  });

  it('shows how its deliveries went: counts by status and the newest first', async () => {
    const org = await seedOrganization(database.db, 'stats');
    const webhook = await createWebhook(org, { url: PUBLIC_URL, events: ['send.accepted'] });
    expect((await getWebhook(org, webhook.webhook_id)).deliveries).toEqual({
      pending: 0,
      delivered: 0,
      failed: 0,
      canceled: 0,
      recent: [],
    });

    const [skipped, first, second] = await recordEvents(database.db, [
      { organizationId: org.organizationId, type: 'send.sent' },
      { organizationId: org.organizationId, type: 'send.accepted', payload: { n: 1 } },
      { organizationId: org.organizationId, type: 'send.accepted', payload: { n: 2 } },
    ]);
    await relayEvents(database.db, { limit: 1_000 });
    await database.db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', attempts: 30, last_status_code: 500, last_error: 'HTTP 500' })
      .where('event_id', '=', first!)
      .execute();

    const { deliveries } = await getWebhook(org, webhook.webhook_id);
    expect([deliveries.pending, deliveries.failed, deliveries.delivered]).toEqual([1, 1, 0]);
    expect(deliveries.recent.map((delivery) => delivery.event_id)).toEqual([second, first]);
    expect(deliveries.recent.map((delivery) => delivery.event_id)).not.toContain(skipped);
    expect(deliveries.recent[1]).toMatchObject({
      event_type: 'send.accepted',
      status: 'failed',
      attempts: 30,
      last_status_code: 500,
      last_error: 'HTTP 500',
      next_attempt_at_ms: null,
    });
    expect(deliveries.recent[0]).toMatchObject({ status: 'pending', attempts: 0 });
    expect(deliveries.recent[0]!.next_attempt_at_ms).toEqual(expect.any(Number));
  });

  it('deletes an endpoint: 204, then 404, gone from the list, its pending deliveries canceled', async () => {
    const org = await seedOrganization(database.db, 'deleting');
    const webhook = await createWebhook(org, { url: PUBLIC_URL, events: ['*'] });
    await recordEvents(database.db, [
      { organizationId: org.organizationId, type: 'send.accepted' },
    ]);
    await relayEvents(database.db, { limit: 1_000 });

    const deleted = await callAs(api.url, org, 'DELETE', `/v2/webhooks/${webhook.webhook_id}`);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    for (const method of ['GET', 'DELETE']) {
      const again = await callAs(api.url, org, method, `/v2/webhooks/${webhook.webhook_id}`);
      expect(again.status).toBe(404);
      expect((await readError(again)).error.code).toBe('not_found');
    }
    const list = listWebhooksResponseSchema.parse(
      await (await callAs(api.url, org, 'GET', '/v2/webhooks')).json(),
    );
    expect(list.webhooks).toEqual([]);
    const statuses = await database.db
      .selectFrom('webhook_deliveries')
      .select('status')
      .where('endpoint_id', '=', webhook.webhook_id)
      .execute();
    expect(statuses).toEqual([{ status: 'canceled' }]);
  });

  it.each([
    ['no url', { events: ['*'] }, 'url'],
    ['an ftp url', { url: 'ftp://93.184.216.34/x', events: ['*'] }, 'url'],
    ['not a url', { url: 'hooks', events: ['*'] }, 'url'],
    ['plain http', { url: 'http://93.184.216.34/x', events: ['*'] }, 'url'],
    ['credentials in the url', { url: 'https://u:p@93.184.216.34/x', events: ['*'] }, 'url'],
    ['a url too long', { url: `${PUBLIC_URL}/${'a'.repeat(2_048)}`, events: ['*'] }, 'url'],
    ['no events', { url: PUBLIC_URL, events: [] }, 'events'],
    ['an unknown event type', { url: PUBLIC_URL, events: ['send.exploded'] }, 'events.0'],
    ['"*" beside other types', { url: PUBLIC_URL, events: ['*', 'send.sent'] }, 'events'],
    ['an unknown field', { url: PUBLIC_URL, events: ['*'], secret: 'mine' }, ''],
  ])('refuses %s with 400 in the error shape, writing nothing', async (_, body, path) => {
    const before = await tableFingerprint(database.db);
    const response = await callAs(api.url, acme, 'POST', '/v2/webhooks', body);
    const error = await readError(response);
    expect(response.status, JSON.stringify(error)).toBe(400);
    expect(error.error.code).toBe('validation_failed');
    const issues = error.error.details?.issues as { path: string }[];
    expect(issues.map((issue) => issue.path)).toContain(path);
    expect(changedTables(before, await tableFingerprint(database.db))).toEqual([]);
  });

  it(`refuses an organization's endpoint past ${WEBHOOK_LIMITS.perOrganization} with 409`, async () => {
    const org = await seedOrganization(database.db, 'many');
    await Promise.all(
      Array.from({ length: WEBHOOK_LIMITS.perOrganization + 3 }, (_, i) =>
        callAs(api.url, org, 'POST', '/v2/webhooks', { url: `${PUBLIC_URL}/${i}`, events: ['*'] }),
      ),
    ).then((responses) => {
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 201)).toHaveLength(
        WEBHOOK_LIMITS.perOrganization,
      );
      expect(statuses.filter((status) => status === 409)).toHaveLength(3);
    });
    const refused = await callAs(api.url, org, 'POST', '/v2/webhooks', {
      url: PUBLIC_URL,
      events: ['*'],
    });
    expect(refused.status).toBe(409);
    expect((await readError(refused)).error).toMatchObject({
      code: 'conflict',
      details: { limit: WEBHOOK_LIMITS.perOrganization },
    });
  });
});
