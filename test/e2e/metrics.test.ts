import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { parsePrometheusText, sumOf, type PrometheusSample } from '../support/prometheus-text.ts';
import type { LogLine } from '../support/service-process.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { waitFor } from '../support/wait-for.ts';

const TEXT = 'Metrics and logs, end to end';

async function scrape(url: string): Promise<PrometheusSample[]> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await response.text());
}

/**
 * A send through the API and a dispatcher process: both `/metrics` show it (the API's request
 * histogram, the dispatcher's outcomes, provider calls and due lag), the dispatcher's probes
 * answer, and the JSON logs tie each delivery transition to the request that made the send,
 * without the message text.
 */
describe('metrics and logs of a send, end to end', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let stack: Stack | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
  });
  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await redis.clear();
    await database.drop();
  });

  it('counts the send on the API and each delivery on the dispatcher', async () => {
    stack = await startStack(testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info' }));
    const { url, dispatcherUrl } = stack;
    for (const path of ['/healthz', '/readyz']) {
      const probe = await fetch(`${dispatcherUrl}${path}`);
      expect(probe.status, path).toBe(200);
      expect(await probe.json(), path).toMatchObject({ status: 'running' });
    }

    const demo = await stack.seedDemo();
    const headers = { Authorization: `Bearer ${demo.api_key}`, 'Content-Type': 'application/json' };
    const accepted = await fetch(`${url}/v2/outbound/sends`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        session_id: demo.sessions.working,
        group_ids: demo.group_ids,
        idempotency_key: 'metrics-e2e',
        text: TEXT,
      }),
    });
    expect(accepted.status).toBe(202);
    const requestId = accepted.headers.get('x-request-id');
    const sendId = ((await accepted.json()) as { send: { send_id: string } }).send.send_id;
    await waitFor(async () => {
      const response = await fetch(`${url}/v2/outbound/sends/${sendId}`, { headers });
      const { send } = (await response.json()) as { send: { status: string } };
      return send.status === 'sent' ? send : undefined;
    });
    const deliveries = await database.db
      .selectFrom('deliveries')
      .select('id')
      .where('send_id', '=', sendId)
      .where('status', '=', 'sent')
      .execute();
    expect(deliveries).toHaveLength(demo.group_ids.length);
    const sent = deliveries.length;

    const api = await scrape(url);
    const requests = (labels: Record<string, string>) =>
      sumOf(api, 'http_request_duration_seconds_count', labels);
    expect(requests({ method: 'POST', route: '/v2/outbound/sends', status_code: '202' })).toBe(1);
    expect(
      requests({ method: 'GET', route: '/v2/outbound/sends/{send_id}', status_code: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sumOf(api, 'http_request_duration_seconds_bucket', {
        method: 'POST',
        route: '/v2/outbound/sends',
        le: '+Inf',
      }),
    ).toBe(1);
    expect(api.some((sample) => sample.labels.route?.includes(sendId))).toBe(false);

    const dispatcher = await scrape(dispatcherUrl);
    expect(
      sumOf(dispatcher, 'outbound_deliveries_total', {
        channel: 'whatsapp',
        provider: 'sandbox',
        outcome: 'sent',
      }),
    ).toBe(sent);
    expect(sumOf(dispatcher, 'outbound_deliveries_total', { outcome: 'failed' })).toBe(0);
    expect(
      sumOf(dispatcher, 'outbound_provider_call_duration_seconds_count', {
        provider: 'sandbox',
        outcome: 'ok',
      }),
    ).toBe(sent);
    expect(
      sumOf(dispatcher, 'outbound_delivery_due_lag_seconds_count', { channel: 'whatsapp' }),
    ).toBeGreaterThanOrEqual(sent);
    expect(sumOf(dispatcher, 'outbound_delivery_due_lag_seconds_sum')).toBeGreaterThan(0);
    expect(
      sumOf(dispatcher, 'outbound_queue_jobs', { queue: 'deliveries', state: 'waiting' }),
    ).toBe(0);

    // Logs: the access-log line of the send carries its request id and organization; each
    // delivery went sending → sent in lines carrying every id; the text is in no line.
    const access = stack.api.lines.find(
      (line) => line.request_id === requestId && line.res !== undefined,
    );
    expect(access).toMatchObject({ organization_id: demo.organization_id });
    const transitions = (msg: string) =>
      stack!.dispatcher.lines.filter(
        (line: LogLine) => line.msg === msg && line.send_id === sendId,
      );
    await waitFor(() =>
      Promise.resolve(transitions('delivery sent').length === sent ? true : undefined),
    );
    for (const msg of ['delivery sending', 'delivery sent']) {
      const lines = transitions(msg);
      expect(lines.map((line) => line.delivery_id).sort(), msg).toEqual(
        deliveries.map((delivery) => delivery.id).sort(),
      );
      for (const line of lines) {
        expect(line, msg).toMatchObject({
          request_id: requestId,
          organization_id: demo.organization_id,
        });
      }
    }
    const everything = JSON.stringify([...stack.api.lines, ...stack.dispatcher.lines]);
    expect(everything).not.toContain(TEXT);
    expect(everything).not.toContain(demo.api_key);
  });
});
