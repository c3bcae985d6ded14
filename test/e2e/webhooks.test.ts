import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { readmeSignatureVerifier } from '../support/readme-signature.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

/**
 * Status webhooks end to end: an endpoint registered through the API (a loopback receiver,
 * allowed by the test-only WEBHOOK_ALLOW_* settings), a send through the API, and a dispatcher
 * process that delivers it and relays its events. The receiver gets every transition of the
 * send, each signed as the README says, checked with the README's own snippet.
 */
describe('status webhooks, end to end', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let receiver: WebhookReceiver;
  let stack: Stack | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await receiver.close();
    await redis.clear();
    await database.drop();
  });

  it('delivers every transition of a send to the endpoint, signed', async () => {
    const verify = await readmeSignatureVerifier();
    stack = await startStack(
      testEnv(database, redis, {
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_RELAY_INTERVAL_MS: '100',
      }),
    );
    const { url } = stack;
    const demo = await stack.seedDemo();
    const headers = { Authorization: `Bearer ${demo.api_key}`, 'Content-Type': 'application/json' };

    const registered = await fetch(`${url}/v2/webhooks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ url: receiver.url, events: ['*'] }),
    });
    expect(registered.status).toBe(201);
    const { webhook } = (await registered.json()) as {
      webhook: { webhook_id: string; secret: string };
    };

    const accepted = await fetch(`${url}/v2/outbound/sends`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        session_id: demo.sessions.working,
        group_ids: demo.group_ids,
        idempotency_key: 'webhooks-e2e',
        text: 'Hello, with status webhooks',
      }),
    });
    expect(accepted.status).toBe(202);
    const sendId = ((await accepted.json()) as { send: { send_id: string } }).send.send_id;

    // Every event of the send, once the send is finished and its last event recorded.
    const recorded = await waitFor(async () => {
      const rows = await database.db
        .selectFrom('events')
        .select(['id', 'type', 'delivery_id'])
        .where('send_id', '=', sendId)
        .orderBy('id')
        .execute();
      return rows.at(-1)?.type === 'send.sent' ? rows : undefined;
    });
    const calls = await waitFor(() => {
      const ofSend = receiver.calls.filter((call) => call.body.send_id === sendId);
      return Promise.resolve(ofSend.length >= recorded.length ? ofSend : undefined);
    });

    expect(calls.map((call) => call.body.id).sort()).toEqual(recorded.map((row) => row.id).sort());
    const types = recorded.map((row) => row.type);
    expect(new Set(types)).toEqual(
      new Set(['send.accepted', 'send.sending', 'delivery.sending', 'delivery.sent', 'send.sent']),
    );
    for (const groupDelivery of recorded.filter((row) => row.type === 'delivery.sent')) {
      const ofDelivery = calls.filter(
        (call) => call.body.delivery_id === groupDelivery.delivery_id,
      );
      expect(ofDelivery.map((call) => call.body.type)).toEqual([
        'delivery.sending',
        'delivery.sent',
      ]);
    }
    expect(recorded.filter((row) => row.type === 'delivery.sent')).toHaveLength(
      demo.group_ids.length,
    );
    expect(calls[0]?.body.type).toBe('send.accepted');
    expect(calls.at(-1)?.body.type).toBe('send.sent');
    for (const call of calls) {
      expect(call.path).toBe('/hook');
      expect(call.headers['content-type']).toBe('application/json');
      expect(call.headers['outbound-event-id']).toBe(call.body.id);
      expect(call.body.organization_id).toBe(demo.organization_id);
      expect(verify(call.rawBody, call.headers['outbound-signature'], webhook.secret)).toBe(true);
    }

    const shown = await waitFor(async () => {
      const response = await fetch(`${url}/v2/webhooks/${webhook.webhook_id}`, { headers });
      const body = (await response.json()) as {
        webhook: { deliveries: { delivered: number; pending: number; recent: unknown[] } };
      };
      return body.webhook.deliveries.pending === 0 ? body.webhook.deliveries : undefined;
    });
    expect(shown.delivered).toBeGreaterThanOrEqual(recorded.length);
    const logs = [...stack.api.lines, ...stack.dispatcher.lines];
    expect(JSON.stringify(logs)).not.toContain(webhook.secret);
  });
});
