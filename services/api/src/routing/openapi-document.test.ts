import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ADMIN_QUEUES_PATH } from '../app.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { toExpressPath } from './mount-routes.ts';
import { buildOpenApiDocument } from './openapi-document.ts';
import { defineRoute } from './route.ts';

/** What Express keeps for each mounted middleware or route (Express 5 / router 2). */
interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD /path` Express would route, found by walking its router stacks. */
function expressRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        for (const method of Object.keys(layer.route.methods)) {
          found.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`);
        }
      } else if (layer.handle.stack !== undefined) {
        const mountedAt = typeof layer.rawPath === 'string' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mountedAt === '/' ? '' : mountedAt}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return found.filter((route) => !route.split(' ')[1]?.startsWith(ADMIN_QUEUES_PATH)).sort();
}

const extra = defineRoute({
  method: 'delete',
  path: '/test/things/{thing_id}',
  operationId: 'testDeleteThing',
  summary: 'A route with a path parameter',
  auth: 'api-key',
  request: { params: z.object({ thing_id: z.uuid() }) },
  responses: { 204: { description: 'Deleted.' } },
}).handle(() => ({ status: 204 }));

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let document: Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, { routes: [extra] });
  const response = await fetch(`${api.url}/openapi.json`);
  expect(response.status).toBe(200);
  document = (await response.json()) as typeof document;
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

function documentedRoutes(): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${toExpressPath(path)}`),
    )
    .sort();
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents exactly the routes Express serves', () => {
    const served = expressRoutes(api.app);
    expect(served).toContain('GET /v2/me');
    expect(served).toContain('DELETE /test/things/:thing_id');
    expect(documentedRoutes()).toEqual(served);
  });

  it('would notice a route mounted around the registry', async () => {
    const other = await startTestApp(database, redis, { routes: [extra] });
    try {
      other.app.get('/rogue', (_req, res) => void res.end());
      expect(expressRoutes(other.app)).toContain('GET /rogue');
      expect(documentedRoutes()).not.toEqual(expressRoutes(other.app));
    } finally {
      await other.stop();
    }
  });

  it('declares both security schemes and uses them on authenticated routes only', () => {
    const components = document.components as Record<string, Record<string, unknown>>;
    expect(components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
    });
    expect(Object.keys(components.securitySchemes ?? {}).sort()).toEqual([
      'apiKeyHeader',
      'bearer',
    ]);
    const security = (path: string, method: string): unknown =>
      (document.paths[path]?.[method] as { security?: unknown }).security;
    expect(security('/v2/me', 'get')).toEqual([{ bearer: [] }, { apiKeyHeader: [] }]);
    expect(security('/healthz', 'get')).toEqual([]);
  });

  it('includes the shared error response schema and uses it for failures', () => {
    const components = document.components as Record<string, Record<string, unknown>>;
    expect(components.schemas?.ErrorResponse).toMatchObject({
      type: 'object',
      required: ['error', 'request_id'],
    });
    const me = document.paths['/v2/me']?.get as { responses: Record<string, unknown> };
    expect(JSON.stringify(me.responses['401'])).toContain('#/components/schemas/ErrorResponse');
  });

  it('documents the per-key rate limit: a 429 with Retry-After and RateLimit-* headers', () => {
    type Operation = { responses: Record<string, { headers?: Record<string, unknown> }> };
    const me = document.paths['/v2/me']?.get as Operation;
    expect(Object.keys(me.responses['429']?.headers ?? {}).sort()).toEqual([
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'Retry-After',
      'X-Request-Id',
    ]);
    expect(JSON.stringify(me.responses['429'])).toContain('#/components/schemas/ErrorResponse');
    expect(Object.keys(me.responses['200']?.headers ?? {})).toContain('RateLimit-Remaining');
    const health = document.paths['/healthz']?.get as Operation;
    expect(health.responses['429']).toBeUndefined();
  });

  it('carries the reference examples on requests and answers', () => {
    type Media = { examples?: Record<string, { value: Record<string, unknown> }> };
    const send = document.paths['/v2/outbound/sends']?.post as {
      requestBody: { content: Record<string, Media> };
      responses: Record<string, { content: Record<string, Media> }>;
    };
    const request = send.requestBody.content['application/json']?.examples;
    expect(request?.immediate?.value).toMatchObject({
      session_id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7070',
      idempotency_key: 'frontend-outbound-018f06e2',
    });
    const accepted = send.responses['202']?.content['application/json']?.examples;
    expect(Object.keys(accepted ?? {}).sort()).toEqual(['accepted', 'scheduled']);
    expect(accepted?.scheduled?.value).toMatchObject({
      schedule: { workflow_id: 'outbound:text-send-schedule:018f06e2-4f8d-7c01-8a0d-cc6fd78f7200' },
    });
    const withExamples = Object.values(document.paths)
      .flatMap((item) => Object.values(item))
      .filter((operation) => JSON.stringify(operation).includes('"examples"'));
    expect(withExamples.length).toBeGreaterThanOrEqual(7);
  });
});

describe('buildOpenApiDocument examples', () => {
  const info = { title: 't', version: '1' };
  const route = defineRoute({
    method: 'post',
    path: '/things',
    operationId: 'createThing',
    summary: 's',
    auth: 'none',
    request: { body: z.object({ name: z.string().min(1) }) },
    responses: { 201: { description: 'd', schema: z.object({ id: z.uuid() }) } },
  }).handle(() => ({ status: 201, body: { id: '018f06e2-4f8d-7c01-8a0d-cc6fd78f7070' } }));

  it('refuses an example its route’s schema does not accept', () => {
    const build = (value: unknown) =>
      buildOpenApiDocument([route], info, {
        examples: { createThing: { request: { one: { summary: 'x', value } } } },
      });
    expect(() => build({ name: 'ok' })).not.toThrow();
    expect(() => build({ name: '' })).toThrow(/createThing: request example "one"/);
    expect(() =>
      buildOpenApiDocument([route], info, {
        examples: {
          createThing: { responses: { 201: { one: { summary: 'x', value: { id: 'no' } } } } },
        },
      }),
    ).toThrow(/201 response example "one"/);
  });

  it('refuses examples for an operation no route declares', () => {
    expect(() => buildOpenApiDocument([route], info, { examples: { createThang: {} } })).toThrow(
      /unknown operations: createThang/,
    );
  });
});
