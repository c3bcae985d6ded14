import { Validator } from '@seriousme/openapi-schema-validator';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ADMIN_QUEUES_PATH } from '../app.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { toExpressPath } from './mount-routes.ts';
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
});
