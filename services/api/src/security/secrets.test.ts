import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { addGroupToSession, createApiKey, createSender, revokeApiKey } from '@outbound/db';
import { apiKeyMatches, CredentialsCipher, hashApiKey } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import { callAs, seedSecurityTenant, type SecurityTenant } from '../test-support/security-world.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/**
 * Secrets: API keys are compared in constant time on their hashes; a revoked key is refused
 * by the very next request; and neither API keys nor provider credentials (nor the admin
 * password or the encryption key) appear in the API's logs, the BullMQ job data in Redis, error
 * bodies or Bull Board's API, after a run that uses credentialed senders of every provider.
 */
const CREDENTIALS_KEY = randomBytes(32).toString('base64');
const ADMIN = { username: 'ops', password: `admin-${randomBytes(12).toString('hex')}` };
const secret = (name: string) => `${name}-${randomBytes(16).toString('hex')}`;
const PROVIDER_SECRETS = {
  smtpPassword: secret('smtp-password'),
  gmailClientSecret: secret('gmail-client-secret'),
  gmailRefreshToken: secret('gmail-refresh-token'),
  twilioAuthToken: secret('twilio-auth-token'),
  wahaApiKey: secret('waha-api-key'),
};

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let tenant: SecurityTenant;
const answers: string[] = [];

async function call(method: string, path: string, body?: unknown, key = tenant.key) {
  const response = await callAs(api.url, { key }, method, path, body);
  const text = await response.clone().text();
  answers.push(text);
  return response;
}

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, {
    env: { CREDENTIALS_ENCRYPTION_KEY: CREDENTIALS_KEY, LOG_LEVEL: 'trace' },
    adminAuth: ADMIN,
  });
  tenant = await seedSecurityTenant(database.db, api.url, api.config, 'secrets');
}, 60_000);

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

describe('API keys', () => {
  it('are compared in constant time, on their SHA-256 hashes', () => {
    // The comparison itself cannot be timed in a test: read that it is timingSafeEqual over
    // two equal-length hashes, and check what it answers.
    const source = readFileSync(
      new URL('../../../../packages/domain/src/api-key.ts', import.meta.url),
      'utf8',
    );
    const body = /export function apiKeyMatches[\s\S]*?\n\}/.exec(source)?.[0] ?? '';
    expect(body).toMatch(/hashApiKey\(key\)/);
    expect(body).toMatch(
      /actual\.length === expected\.length && timingSafeEqual\(actual, expected\)/,
    );
    expect(body).not.toMatch(/===\s*storedHash|storedHash\s*===/);

    const key = tenant.key;
    expect(apiKeyMatches(key, hashApiKey(key))).toBe(true);
    expect(apiKeyMatches(`${key.slice(0, -1)}x`, hashApiKey(key))).toBe(false);
    expect(apiKeyMatches(key, 'not hex')).toBe(false);
    expect(apiKeyMatches(key, hashApiKey(key).slice(0, 32))).toBe(false);
  });

  it('is refused by the very next request once revoked, in both header forms, however many at once', async () => {
    const { key, record } = await createApiKey(database.db, {
      organizationId: tenant.organizationId,
      actorUserId: 'to-revoke',
    });
    expect((await call('GET', '/v2/me', undefined, key)).status).toBe(200);
    expect(await revokeApiKey(database.db, record.id)).toBe(true);

    const bearer = await call('GET', '/v2/me', undefined, key);
    expect(bearer.status).toBe(401);
    expect((await readError(bearer)).error.message).toBe('Invalid or revoked API key');
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${api.url}/v2/sessions`, {
          headers: i % 2 === 0 ? { 'X-API-Key': key } : { Authorization: `Bearer ${key}` },
        }),
      ),
    );
    expect(burst.map((response) => response.status)).toEqual(Array(20).fill(401));
    // And the organization's other key still works.
    expect((await call('GET', '/v2/me')).status).toBe(200);
  });
});

describe('secrets never leave', () => {
  let secrets: Record<string, string>;

  beforeAll(async () => {
    const cipher = new CredentialsCipher(CREDENTIALS_KEY);
    const organizationId = tenant.organizationId;
    const smtp = await createSender(database.db, cipher, {
      organizationId,
      channel: 'email',
      provider: 'smtp',
      name: 'relay',
      address: 'relay@secrets.example',
      rateLimit: { max: 10, window_ms: 1_000 },
      settings: { host: '127.0.0.1', port: 2525, tls: 'none' },
      credentials: { user: 'relay@secrets.example', password: PROVIDER_SECRETS.smtpPassword },
    });
    const gmail = await createSender(database.db, cipher, {
      organizationId,
      channel: 'email',
      provider: 'gmail',
      name: 'gmail',
      address: 'sales@secrets.example',
      rateLimit: { max: 10, window_ms: 1_000 },
      credentials: {
        client_id: 'client-id.apps.googleusercontent.com',
        client_secret: PROVIDER_SECRETS.gmailClientSecret,
        refresh_token: PROVIDER_SECRETS.gmailRefreshToken,
      },
    });
    await createSender(database.db, cipher, {
      organizationId,
      channel: 'sms',
      provider: 'twilio',
      name: 'twilio',
      address: '+15005550006',
      rateLimit: { max: 1, window_ms: 1_000 },
      settings: { account_sid: `AC${'0'.repeat(32)}`, from: '+15005550006' },
      credentials: { auth_token: PROVIDER_SECRETS.twilioAuthToken },
    });
    const waha = await createSender(database.db, cipher, {
      organizationId,
      channel: 'whatsapp',
      provider: 'waha',
      name: 'waha',
      rateLimit: { max: 1, window_ms: 1_000 },
      settings: { base_url: 'http://127.0.0.1:3001', session: 'default' },
      credentials: { api_key: PROVIDER_SECRETS.wahaApiKey },
    });
    const [groupId] = tenant.groupIds;
    await addGroupToSession(database.db, { organizationId, groupId, sessionId: waha.id });

    // A run that uses every credentialed sender, and fails in every usual way.
    for (const account of [smtp.id, gmail.id]) {
      const saved = await call('POST', '/api/email/drafts', {
        from_account_id: account,
        to: ['ada@example.com'],
        subject: 'Quote',
        body_text: 'Hi',
      });
      expect(saved.status).toBe(201);
      const { uid } = (await saved.json()) as { uid: string };
      expect((await call('POST', `/api/email/drafts/${uid}/send`)).status).toBe(202);
      expect((await call('GET', `/api/email/drafts/${uid}`)).status).toBe(200);
    }
    const messageDrafts = `/api/v2/organizations/${organizationId}/message-drafts`;
    for (const body of [
      {
        modality: 'text',
        body_html: 'Hello',
        to_phone_number: '+14155550100',
        autosend_draft: true,
      },
      { modality: 'email', subject: 'Hi', to_email: 'ada@example.com', autosend_draft: true },
    ]) {
      expect((await call('POST', messageDrafts, body)).status).toBe(201);
    }
    expect(
      (
        await call('POST', '/v2/outbound/sends', {
          session_id: waha.id,
          group_ids: [groupId],
          idempotency_key: 'secrets-waha',
          text: 'hello',
        })
      ).status,
    ).toBe(202);
    for (const path of ['/v2/sessions', '/v2/groups', '/v2/me', `${messageDrafts}?limit=100`]) {
      expect((await call('GET', path)).status).toBe(200);
    }
    // Refusals: a near-miss key, a key sent where keys do not go, a malformed body.
    const nearMiss = `${tenant.key.slice(0, -1)}${tenant.key.endsWith('A') ? 'B' : 'A'}`;
    expect((await call('GET', '/v2/me', undefined, nearMiss)).status).toBe(401);
    for (const target of [`/v2/me?api_key=${tenant.key}`, `/v2/nowhere/${tenant.key}`]) {
      answers.push(await (await fetch(`${api.url}${target}`)).text());
    }
    expect(
      (await call('POST', '/api/email/drafts', { from_account_id: smtp.id, to: ['x'] })).status,
    ).toBe(400);

    const board = {
      Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
    };
    for (const path of [
      '/admin/queues/api/queues',
      '/admin/queues/api/queues?activeQueue=deliveries&status=waiting',
      '/admin/queues/api/queues?activeQueue=deliveries&status=latest',
      '/admin/queues/api/queues?activeQueue=scheduler&status=delayed',
    ]) {
      const response = await fetch(`${api.url}${path}`, { headers: board });
      expect(response.status).toBe(200);
      answers.push(await response.text());
    }
    secrets = {
      'the API key': tenant.key,
      'the API key secret part': tenant.key.slice(-32),
      ...PROVIDER_SECRETS,
      'the admin password': ADMIN.password,
      'the credentials encryption key': CREDENTIALS_KEY,
    };
  }, 60_000);

  const leaks = (text: string) =>
    Object.entries(secrets).filter(([, value]) => text.includes(value));

  it('keeps them out of the logs', () => {
    const lines = api.logs();
    expect(lines.length).toBeGreaterThan(20);
    expect(
      leaks(lines.map((line) => JSON.stringify(line)).join('\n')).map(([name]) => name),
    ).toEqual([]);
  });

  it('keeps them out of /metrics, which names routes by template, never by URL', async () => {
    const response = await fetch(`${api.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    // The requests above that put the key in a URL are there, counted without it.
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="unmatched"/);
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/v2\/me"/);
    expect(leaks(text).map(([name]) => name)).toEqual([]);
    expect(text).not.toContain(tenant.organizationId);
  });

  it('keeps them out of answers, error bodies and Bull Board', () => {
    expect(answers.some((text) => text.includes('"deliveries"'))).toBe(true);
    expect(leaks(answers.join('\n')).map(([name]) => name)).toEqual([]);
  });

  it('keeps them out of the job data in Redis', async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const dump: string[] = [];
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${redis.prefix}:*`, 'COUNT', 500);
        for (const key of keys) {
          const type = await client.type(key);
          if (type === 'hash') dump.push(JSON.stringify(await client.hgetall(key)));
          else if (type === 'string') dump.push((await client.get(key)) ?? '');
          else if (type === 'list') dump.push(...(await client.lrange(key, 0, -1)));
          else if (type === 'zset') dump.push(...(await client.zrange(key, '0', '-1')));
          else if (type === 'set') dump.push(...(await client.smembers(key)));
          else if (type === 'stream') dump.push(JSON.stringify(await client.xrange(key, '-', '+')));
        }
        cursor = next;
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
    const jobs = dump.filter((text) => text.includes('delivery_id'));
    expect(jobs.length).toBeGreaterThanOrEqual(5);
    expect(leaks(dump.join('\n')).map(([name]) => name)).toEqual([]);
  });
});
