import { createApiKey, createOrganization } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findPrincipal } from '../auth/principal.ts';
import { readError } from '../test-support/error-body.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { defineRoute } from './route.ts';

/** What the middleware of `formRoute` saw, per request. */
const seen: { authenticated: boolean; body: unknown }[] = [];

const formRoute = defineRoute({
  method: 'post',
  path: '/test/forms',
  operationId: 'testForm',
  summary: 'Takes JSON or a form its middleware turns into JSON',
  auth: 'api-key',
  middleware: [
    (req, res, next) => {
      seen.push({ authenticated: findPrincipal(res) !== undefined, body: req.body as unknown });
      if (req.is('multipart/form-data') === 'multipart/form-data') req.body = { name: 'from-form' };
      next();
    },
  ],
  request: {
    body: z.strictObject({ name: z.string().min(1) }),
    form: z.object({ name: z.string(), upload: z.string().meta({ format: 'binary' }) }),
  },
  responses: { 200: { description: 'The name.', schema: z.object({ name: z.string() }) } },
}).handle(({ body }) => ({ status: 200, body: { name: body.name } }));

const jsonRoute = defineRoute({
  method: 'post',
  path: '/test/json-only',
  operationId: 'testJsonOnly',
  summary: 'Takes JSON only',
  auth: 'none',
  request: { body: z.object({ name: z.string() }) },
  responses: { 204: { description: 'Done.' } },
}).handle(() => ({ status: 204 }));

const imageRoute = defineRoute({
  method: 'get',
  path: '/test/image/{kind}',
  operationId: 'testImage',
  summary: 'Answers bytes',
  auth: 'none',
  request: { params: z.object({ kind: z.enum(['png', 'gif']) }) },
  responses: {
    200: { description: 'Bytes.', binary: { contentTypes: ['image/png'] } },
  },
}).handle(({ params }) => ({
  status: 200,
  body: Buffer.from([1, 2, 3]),
  // `gif` answers a type the route does not declare: a programming error, so a 500.
  contentType: `image/${params.kind}`,
  headers: { 'Cache-Control': 'no-store' },
}));

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let auth: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, { routes: [formRoute, jsonRoute, imageRoute] });
  const organization = await createOrganization(database.db, 'routing');
  const { key } = await createApiKey(database.db, {
    organizationId: organization.id,
    actorUserId: 'u',
  });
  auth = { Authorization: `Bearer ${key}` };
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

describe('route middleware', () => {
  it('runs after authentication and before validation', async () => {
    seen.length = 0;
    const response = await fetch(`${api.url}/test/forms`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });
    expect(response.status).toBe(400);
    expect(seen).toEqual([{ authenticated: true, body: { name: '' } }]);
  });

  it('does not run for an unauthenticated caller', async () => {
    seen.length = 0;
    const response = await fetch(`${api.url}/test/forms`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(response.status).toBe(401);
    expect(seen).toEqual([]);
  });

  it('can turn a form into the body the schema validates', async () => {
    const form = new FormData();
    form.append('name', 'ignored');
    const response = await fetch(`${api.url}/test/forms`, {
      method: 'POST',
      headers: auth,
      body: form,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: 'from-form' });
  });
});

describe('request content types', () => {
  it('refuses a form on a JSON-only route with 415 naming what it accepts', async () => {
    const form = new FormData();
    form.append('name', 'x');
    const response = await fetch(`${api.url}/test/json-only`, { method: 'POST', body: form });
    expect(response.status).toBe(415);
    const error = await readError(response);
    expect(error.error).toMatchObject({
      code: 'unsupported_media_type',
      details: { accepted: ['application/json'] },
    });
  });

  it('accepts JSON with a charset parameter', async () => {
    const response = await fetch(`${api.url}/test/json-only`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: '{"name":"x"}',
    });
    expect(response.status).toBe(204);
  });
});

describe('binary responses', () => {
  it('answers the bytes with the declared type and the handler headers', async () => {
    const response = await fetch(`${api.url}/test/image/png`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([1, 2, 3]);
  });

  it('refuses to answer a type the route does not declare', async () => {
    const response = await fetch(`${api.url}/test/image/gif`);
    expect(response.status).toBe(500);
    expect(response.headers.get('cache-control')).toBeNull();
  });
});

describe('the OpenAPI document', () => {
  type Operation = {
    requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
    responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  };
  let paths: Record<string, Record<string, Operation>>;
  let schemas: Record<string, Record<string, unknown>>;

  beforeAll(async () => {
    const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: typeof paths;
      components: { schemas: typeof schemas };
    };
    ({ paths } = document);
    ({ schemas } = document.components);
  });

  it('documents a JSON body and its multipart form', () => {
    const content = paths['/test/forms']?.post?.requestBody?.content ?? {};
    expect(Object.keys(content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(JSON.stringify(content['multipart/form-data'])).toContain('"format":"binary"');
    expect(paths['/test/forms']?.post?.responses['415']).toBeDefined();
    expect(Object.keys(paths['/test/json-only']?.post?.requestBody?.content ?? {})).toEqual([
      'application/json',
    ]);
  });

  it('documents a binary response under its content types', () => {
    expect(paths['/test/image/{kind}']?.get?.responses['200']?.content).toEqual({
      'image/png': { schema: { type: 'string', format: 'binary' } },
    });
  });

  it('documents the send route as JSON or multipart, with its limits and strictness', () => {
    const send = paths['/v2/outbound/sends']?.post;
    const content = send?.requestBody?.content ?? {};
    expect(Object.keys(content).sort()).toEqual(['application/json', 'multipart/form-data']);
    expect(content).toMatchObject({
      'application/json': { schema: { $ref: '#/components/schemas/WhatsappSendRequest' } },
      'multipart/form-data': { schema: { $ref: '#/components/schemas/WhatsappSendForm' } },
    });
    const request = schemas.WhatsappSendRequest ?? {};
    expect(request).toMatchObject({
      additionalProperties: false,
      required: ['session_id', 'group_ids', 'idempotency_key'],
    });
    expect(request.description).toMatch(/Unknown fields are rejected/);
    expect(JSON.stringify(request)).toContain('"maxItems":100');
    expect(JSON.stringify(schemas.WhatsappSendForm)).toContain('"format":"binary"');
    expect(Object.keys(send?.responses ?? {})).toEqual(
      expect.arrayContaining(['202', '400', '401', '404', '409', '413', '415', '422', '429']),
    );
  });
});
