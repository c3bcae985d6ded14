import { isUuid } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineRoute } from '../routing/route.ts';
import { readError } from '../test-support/error-body.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const echo = defineRoute({
  method: 'post',
  path: '/test/echo/{id}',
  operationId: 'testEcho',
  summary: 'Echoes its parsed input',
  auth: 'none',
  request: {
    params: z.object({ id: z.uuid() }),
    query: z.object({ count: z.coerce.number().int().positive() }),
    body: z.object({ name: z.string().min(1), tags: z.array(z.string()) }),
  },
  responses: {
    200: {
      description: 'The parsed input.',
      schema: z.object({ id: z.string(), count: z.number(), name: z.string() }),
    },
  },
}).handle(({ params, query, body }) => ({
  status: 200,
  body: { id: params.id, count: query.count, name: body.name },
}));

const boom = defineRoute({
  method: 'get',
  path: '/test/boom',
  operationId: 'testBoom',
  summary: 'Fails unexpectedly',
  auth: 'none',
  responses: { 204: { description: 'Never.' } },
}).handle(() => {
  throw new Error('secret internal detail');
});

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, {
    env: { JSON_BODY_LIMIT: '1kb' },
    routes: [echo, boom],
  });
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

function postJson(path: string, body: string): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
}

describe('the error shape', () => {
  it('answers an unknown route with 404 not_found', async () => {
    const response = await fetch(`${api.url}/no/such/route`);
    expect(response.status).toBe(404);
    const body = await readError(response);
    expect(body.error).toEqual({
      code: 'not_found',
      message: 'No route for GET /no/such/route',
      details: null,
    });
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const response = await postJson('/healthz', '{"name": ');
    expect(response.status).toBe(400);
    expect((await readError(response)).error.code).toBe('malformed_json');
  });

  it('answers a body over JSON_BODY_LIMIT with 413 payload_too_large', async () => {
    const response = await postJson('/healthz', JSON.stringify({ text: 'x'.repeat(2_000) }));
    expect(response.status).toBe(413);
    const body = await readError(response);
    expect(body.error.code).toBe('payload_too_large');
    expect(body.error.details).toEqual({ limit_bytes: 1024 });
  });

  it('answers bad input with 400 validation_failed listing every bad field', async () => {
    const response = await postJson(
      '/test/echo/not-a-uuid?count=-2',
      JSON.stringify({ name: '', tags: ['ok', 7] }),
    );
    expect(response.status).toBe(400);
    const body = await readError(response);
    expect(body.error.code).toBe('validation_failed');
    const issues = (body.error.details?.issues ?? []) as { location: string; path: string }[];
    expect(issues.map(({ location, path }) => `${location}:${path}`).sort()).toEqual([
      'body:name',
      'body:tags.1',
      'params:id',
      'query:count',
    ]);
  });

  it('answers a missing body with 400 validation_failed on the body itself', async () => {
    const response = await fetch(`${api.url}/test/echo/${crypto.randomUUID()}?count=1`, {
      method: 'POST',
    });
    expect(response.status).toBe(400);
    const body = await readError(response);
    expect(body.error.details).toMatchObject({ issues: [{ location: 'body', path: '' }] });
  });

  it('hands the handler parsed, typed input', async () => {
    const id = crypto.randomUUID();
    const response = await postJson(`/test/echo/${id}?count=3`, '{"name":"a","tags":[]}');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id, count: 3, name: 'a' });
  });

  it('answers an unexpected failure with 500 internal_error and an error id, no internals', async () => {
    const response = await fetch(`${api.url}/test/boom`);
    expect(response.status).toBe(500);
    const text = await response.clone().text();
    expect(text).not.toContain('secret internal detail');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    const body = await readError(response);
    expect(body.error.code).toBe('internal_error');
    const errorId = body.error.details?.error_id;
    expect(typeof errorId === 'string' && isUuid(errorId)).toBe(true);
    await vi.waitFor(() => {
      const logged = api.logs().find((line) => line.error_id === errorId);
      expect(logged).toMatchObject({ err: { message: 'secret internal detail' } });
    });
  });
});

describe('X-Request-Id', () => {
  it('echoes a sane request id from the caller', async () => {
    const response = await fetch(`${api.url}/no/such/route`, {
      headers: { 'X-Request-Id': 'client-42:retry.1_A' },
    });
    expect(response.headers.get('x-request-id')).toBe('client-42:retry.1_A');
    expect((await readError(response)).request_id).toBe('client-42:retry.1_A');
  });

  it.each([
    ['with spaces', 'has spaces in it'],
    ['too long', 'a'.repeat(129)],
    ['with markup', '<script>'],
  ])('replaces a request id %s with a new UUIDv7', async (_, offered) => {
    const response = await fetch(`${api.url}/healthz`, { headers: { 'X-Request-Id': offered } });
    const id = response.headers.get('x-request-id') ?? '';
    expect(id).not.toBe(offered);
    expect(isUuid(id) && id[14] === '7').toBe(true);
  });

  it('gives a UUIDv7 when the caller sent none', async () => {
    const response = await fetch(`${api.url}/healthz`);
    const id = response.headers.get('x-request-id') ?? '';
    expect(isUuid(id) && id[14] === '7').toBe(true);
  });
});
