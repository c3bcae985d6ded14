import { randomBytes } from 'node:crypto';
import { createSender } from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import {
  startTwilioServer,
  MAGIC_FROM_VALID,
  type TwilioServer,
} from '@outbound/fakes/twilio-server';
import { startWahaServer, type WahaServer } from '@outbound/fakes/waha-server';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
} from '@outbound/test/harness';
import type { ServiceProcess } from '@outbound/test/service-process';
import { startDispatcher } from '@outbound/test/stack';
import { waitFor } from '@outbound/test/wait-for';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/**
 * Providers echo what they were sent: a WAHA or Twilio that answers with the caller's api key
 * or auth token (in its words, or in an echoed Authorization header) must not put that secret
 * anywhere Outbound keeps or shows a failure: the delivery's error, events, the sender row,
 * BullMQ's job hashes (failedReason, stacktrace, data), Bull Board's API, or the dispatcher's
 * logs. Deliveries are driven to fail for real, through a dispatcher process.
 */
const CREDENTIALS_KEY = randomBytes(32).toString('base64');
const ADMIN = { username: 'ops', password: `admin-${randomBytes(12).toString('hex')}` };
const WAHA_KEY = `waha-key-${randomBytes(16).toString('hex')}`;
const TWILIO_SID = `AC${randomBytes(16).toString('hex')}`;
const TWILIO_TOKEN = randomBytes(16).toString('hex');
const TWILIO_BASIC = Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64');
const SECRETS = {
  'the WAHA api key': WAHA_KEY,
  'the Twilio auth token': TWILIO_TOKEN,
  "Twilio's basic auth header": TWILIO_BASIC,
};
/** Refused for good (401, 20003), and retried until spent (500, a proxy's 502). */
const REFUSED_NUMBER = '+14155550101';
const FLAKY_NUMBER = '+14155550102';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let waha: WahaServer;
let twilio: TwilioServer;
let dispatcher: ServiceProcess | undefined;
let org: SeededOrganization;

beforeAll(async () => {
  database = await createTestDatabase();
  waha = await startWahaServer({ apiKey: WAHA_KEY });
  twilio = await startTwilioServer({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN });
  api = await startTestApp(database, redis, {
    env: { CREDENTIALS_ENCRYPTION_KEY: CREDENTIALS_KEY },
    adminAuth: ADMIN,
  });
  org = await seedOrganization(database.db, 'provider-secrets');
  dispatcher = await startDispatcher(
    testEnv(database, redis, {
      LOG_LEVEL: 'debug',
      CREDENTIALS_ENCRYPTION_KEY: CREDENTIALS_KEY,
      DELIVERY_MAX_ATTEMPTS: '2',
      DELIVERY_BACKOFF_MS: '100',
    }),
  );
}, 60_000);

afterAll(async () => {
  await dispatcher?.stop('SIGKILL');
  await api.stop();
  await waha.stop();
  await twilio.stop();
  await database.drop();
  await redis.clear();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { ...org.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('a provider error that echoes the credentials', () => {
  const kept: Record<string, string> = {};

  beforeAll(async () => {
    const cipher = new CredentialsCipher(CREDENTIALS_KEY);
    const organizationId = org.organizationId;
    const session = await createSender(database.db, cipher, {
      organizationId,
      channel: 'whatsapp',
      provider: 'waha',
      name: 'waha',
      rateLimit: { max: 100, window_ms: 1_000 },
      settings: { base_url: waha.url, session: 'default' },
      credentials: { api_key: WAHA_KEY },
    });
    await createSender(database.db, cipher, {
      organizationId,
      channel: 'sms',
      provider: 'twilio',
      name: 'twilio',
      address: MAGIC_FROM_VALID,
      rateLimit: { max: 100, window_ms: 1_000 },
      settings: { base_url: twilio.url, account_sid: TWILIO_SID, from: MAGIC_FROM_VALID },
      credentials: { auth_token: TWILIO_TOKEN },
    });
    const groupIds = await seedGroups(database.db, organizationId, [session.id], 2);
    const chats = await database.db
      .selectFrom('groups')
      .select(['id', 'chat_id'])
      .where('id', 'in', groupIds)
      .execute();
    const chatOf = (id: string) => chats.find((group) => group.id === id)!.chat_id;

    waha.inject(
      { type: 'status', status: 401, message: `Unauthorized: X-Api-Key ${WAHA_KEY} is not valid` },
      { chatId: chatOf(groupIds[0]!), times: Infinity },
    );
    waha.inject(
      { type: 'status', status: 500, message: `session crashed (x-api-key=${WAHA_KEY})` },
      { chatId: chatOf(groupIds[1]!), times: Infinity },
    );
    twilio.inject(
      {
        type: 'error',
        code: 20003,
        status: 401,
        message: `Authenticate: ${TWILIO_SID}:${TWILIO_TOKEN} was refused`,
      },
      { to: REFUSED_NUMBER, times: Infinity },
    );
    twilio.inject(
      {
        type: 'proxy',
        status: 502,
        text: `<html>Bad gateway for a request with Authorization: Basic ${TWILIO_BASIC}</html>`,
      },
      { to: FLAKY_NUMBER, times: Infinity },
    );

    const sent = await post('/v2/outbound/sends', {
      session_id: session.id,
      group_ids: groupIds,
      idempotency_key: 'echoed-secrets',
      text: 'hello',
    });
    expect(sent.status).toBe(202);
    for (const to of [REFUSED_NUMBER, FLAKY_NUMBER]) {
      const drafted = await post(`/api/v2/organizations/${organizationId}/message-drafts`, {
        modality: 'text',
        body_html: 'Hello',
        to_phone_number: to,
        autosend_draft: true,
      });
      expect(drafted.status).toBe(201);
    }

    const deliveries = await waitFor(
      async () => {
        const rows = await database.db
          .selectFrom('deliveries')
          .selectAll()
          .where('organization_id', '=', organizationId)
          .execute();
        return rows.length === 4 && rows.every((row) => row.status === 'failed') ? rows : undefined;
      },
      30_000,
      100,
    );
    kept.deliveries = JSON.stringify(deliveries);
    kept.errorCodes = JSON.stringify(deliveries.map((row) => row.error_code).sort());
    for (const table of ['events', 'senders', 'sends', 'message_drafts'] as const) {
      kept[table] = JSON.stringify(
        await database.db
          .selectFrom(table)
          .selectAll()
          .where('organization_id', '=', organizationId)
          .execute(),
      );
    }
  }, 60_000);

  const leaks = (text: string) =>
    Object.entries(SECRETS)
      .filter(([, value]) => text.includes(value))
      .map(([name]) => name);

  it('reaches the providers, which echo the secrets back', () => {
    const wahaAnswers = waha.calls().map((call) => call.answer);
    expect(wahaAnswers).toContain(401);
    expect(wahaAnswers).toContain(500);
    expect(JSON.parse(kept.errorCodes!)).toEqual([
      'retries_exhausted',
      'retries_exhausted',
      'unauthorized',
      'unauthorized',
    ]);
  });

  it('keeps them out of the deliveries, events and other rows, with the provider words kept', () => {
    expect(kept.deliveries).toContain('Unauthorized: X-Api-Key [redacted] is not valid');
    expect(kept.deliveries).toContain('Basic [redacted]');
    for (const [table, rows] of Object.entries(kept)) {
      expect(leaks(rows), table).toEqual([]);
    }
  });

  it("keeps them out of BullMQ's job hashes in Redis", async () => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const hashes: Record<string, string>[] = [];
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${redis.prefix}:*`, 'COUNT', 500);
        for (const key of keys) {
          if ((await client.type(key)) === 'hash') hashes.push(await client.hgetall(key));
        }
        cursor = next;
      } while (cursor !== '0');
    } finally {
      client.disconnect();
    }
    const failed = hashes.filter((hash) => (hash.failedReason ?? '') !== '');
    expect(failed.length).toBeGreaterThanOrEqual(4);
    expect(failed.some((hash) => (hash.stacktrace ?? '[]') !== '[]')).toBe(true);
    expect(leaks(hashes.map((hash) => JSON.stringify(hash)).join('\n'))).toEqual([]);
  });

  it("keeps them out of Bull Board's API", async () => {
    const board = {
      Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
    };
    const answers: string[] = [];
    for (const status of ['failed', 'latest', 'completed']) {
      const response = await fetch(
        `${api.url}/admin/queues/api/queues?activeQueue=deliveries&status=${status}`,
        { headers: board },
      );
      expect(response.status).toBe(200);
      answers.push(await response.text());
    }
    expect(answers[0]).toContain('unauthorized');
    expect(leaks(answers.join('\n'))).toEqual([]);
  });

  it("keeps them out of the dispatcher's logs", () => {
    const lines = dispatcher!.lines;
    expect(lines.some((line) => line.msg === 'delivery failed')).toBe(true);
    expect(leaks(lines.map((line) => JSON.stringify(line)).join('\n'))).toEqual([]);
  });
});
