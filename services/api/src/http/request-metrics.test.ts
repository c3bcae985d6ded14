import { randomUUID } from 'node:crypto';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { parsePrometheusText, sumOf } from '@outbound/test/prometheus-text';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { createApiMetrics } from './api-metrics.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function scrape() {
  const response = await fetch(`${api.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  const text = await response.text();
  return { text, samples: parsePrometheusText(text) };
}

const requests = (
  samples: ReturnType<typeof parsePrometheusText>,
  labels: Record<string, string>,
) => sumOf(samples, 'http_request_duration_seconds_count', labels);

describe('GET /metrics', () => {
  it('counts requests by method, declared route template and status, never by raw URL', async () => {
    const sendId = randomUUID();
    const missing = await fetch(`${api.url}/v2/outbound/sends/${sendId}`, {
      headers: acme.headers,
    });
    expect(missing.status).toBe(404);
    const refused = await fetch(`${api.url}/v2/outbound/sends/${randomUUID()}`);
    expect(refused.status).toBe(401);
    const nowhere = await fetch(`${api.url}/v2/nowhere/${sendId}`);
    expect(nowhere.status).toBe(404);

    const { text, samples } = await scrape();
    const route = '/v2/outbound/sends/{send_id}';
    expect(requests(samples, { method: 'GET', route, status_code: '404' })).toBe(1);
    expect(requests(samples, { method: 'GET', route, status_code: '401' })).toBe(1);
    expect(requests(samples, { method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain(sendId);
    expect(text).not.toContain('/v2/nowhere');
    // Buckets and sum come with every series.
    expect(sumOf(samples, 'http_request_duration_seconds_bucket', { route, le: '+Inf' })).toBe(2);
  });

  it('counts its own scrapes, and carries the process metrics', async () => {
    await scrape();
    const { samples } = await scrape();
    expect(
      requests(samples, { method: 'GET', route: '/metrics', status_code: '200' }),
    ).toBeGreaterThanOrEqual(2);
    expect(sumOf(samples, 'outbound_api_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sumOf(samples, 'outbound_api_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('is documented like the health routes: no security, no rate-limit answer', async () => {
    const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const operation = document.paths['/metrics']?.get as {
      security: unknown[];
      responses: Record<string, { content?: Record<string, unknown> }>;
    };
    expect(operation.security).toEqual([]);
    expect(operation.responses['429']).toBeUndefined();
    expect(Object.keys(operation.responses['200']?.content ?? {})).toEqual([
      'text/plain; version=0.0.4; charset=utf-8',
    ]);
  });

  it('keeps each app its own registry', async () => {
    const mine = createApiMetrics({ processMetrics: false });
    const theirs = createApiMetrics({ processMetrics: false });
    mine.httpRequestDuration.observe({ method: 'GET', route: '/healthz', status_code: '200' }, 1);
    const count = async (metrics: typeof mine) =>
      sumOf(
        parsePrometheusText(await metrics.registry.metrics()),
        'http_request_duration_seconds_count',
      );
    expect(await count(mine)).toBe(1);
    expect(await count(theirs)).toBe(0);
  });
});
