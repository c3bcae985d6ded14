import { createApiKey, revokeApiKey } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorShapeProblem, prototypePolluted } from './fuzz-checks.ts';
import {
  EDGE_STRINGS,
  fuzzRequests,
  RawJson,
  toJsonText,
  type ExampleRequest,
  type FuzzKeys,
  type FuzzRequest,
} from './fuzz-requests.ts';
import { HangError, rawRequest, type RawRequest, type RawResponse } from './raw-http.ts';
import {
  documentedOperations,
  ROUTE_EXAMPLES,
  type DocumentedOperation,
} from './route-examples.ts';
import { seedSecurityTenant, type SecurityTenant } from './security-world.ts';
import { changedTables, tableFingerprint, type TableFingerprint } from './table-fingerprint.ts';
import { startTestApp, type TestApp } from './test-app.ts';

/** How many generated requests each route gets; `pnpm --filter @outbound/api fuzz` sets 1000. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** Time one route's fuzzing may take before it stops early (and says how far it got). */
const ROUTE_BUDGET_MS = Number(process.env.FUZZ_ROUTE_BUDGET_MS ?? 6_000);
/** An answer slower than this is a hang. */
const REQUEST_TIMEOUT_MS = Number(process.env.FUZZ_REQUEST_TIMEOUT_MS ?? 5_000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** The routes are fuzzed in three files (so CI runs them in parallel), by path. */
export type FuzzFamily =
  'operations-and-sends' | 'whatsapp-and-email-drafts' | 'messages-and-conversations';

export function fuzzFamily(key: string): FuzzFamily {
  const path = key.slice(key.indexOf(' ') + 1);
  if (path.startsWith('/v2/outbound/drafts') || path.startsWith('/api/email/')) {
    return 'whatsapp-and-email-drafts';
  }
  if (path.startsWith('/api/v2/organizations/') || path.startsWith('/v3/')) {
    return 'messages-and-conversations';
  }
  return 'operations-and-sends';
}

/** Hostile values each string (and number) of a route's example is set to, one at a time. */
const SWEEP_STRINGS = ['a\u0000b', '\r\nBcc: victim@example.com', '\ud800', 'x'.repeat(5_000)];
const SWEEP_NUMBERS = ['1e400', '-0', '123456789012345678901234567890'];

/** Every leaf of a JSON value, as a key path. */
function leaves(value: unknown, path: string[] = []): { path: string[]; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leaves(item, [...path, String(i)]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => leaves(item, [...path, key]));
  }
  return [{ path, value }];
}

function replaced(value: unknown, path: readonly string[], next: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return next;
  if (Array.isArray(value))
    return value.with(Number(head), replaced(value[Number(head)], rest, next));
  const record = value as Record<string, unknown>;
  return { ...record, [head]: replaced(record[head], rest, next) };
}

/** The example with each string or number of its body and query set to each hostile value. */
function sweepRequests(operation: DocumentedOperation, example: ExampleRequest, key: string) {
  const path = operation.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(example.params?.[name] ?? ''),
  );
  const headers = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  const requests: RawRequest[] = [];
  const query = example.query ?? {};
  for (const name of Object.keys(query)) {
    for (const text of SWEEP_STRINGS) {
      const search = new URLSearchParams({ ...query, [name]: text.toWellFormed() });
      requests.push({
        method: operation.method.toUpperCase(),
        target: `${path}?${search.toString()}`,
        headers,
      });
    }
  }
  if (operation.takesBody) {
    for (const leaf of leaves(example.body)) {
      const values: unknown[] =
        typeof leaf.value === 'number'
          ? SWEEP_NUMBERS.map((text) => new RawJson(text))
          : [...SWEEP_STRINGS, ...(typeof leaf.value === 'string' ? [] : EDGE_STRINGS.slice(0, 2))];
      for (const value of values) {
        requests.push({
          method: operation.method.toUpperCase(),
          target: path,
          headers,
          body: toJsonText(replaced(example.body, leaf.path, value)),
        });
      }
    }
  }
  return requests;
}

/**
 * Property-based fuzzing of one family of the documented routes (issue "no one let in"). For
 * each route, FUZZ_RUNS requests are generated from its valid example (mutated field by
 * field), from arbitrary JSON and from broken transport; then each string and number of the
 * example is set to each hostile value in turn. Every request must hold:
 * - no 5xx, and an answer within FUZZ_REQUEST_TIMEOUT_MS (no hang);
 * - every 4xx in the shared error shape, with the response's request id;
 * - a 4xx wrote nothing: no table's row count or newest row version changed;
 * - nothing was planted on Object.prototype.
 * The figures per route (runs, time, statuses) are printed at the end.
 */
export function fuzzRouteFamily(family: FuzzFamily): void {
  const redis = createTestRedis();
  let database: TestDatabase;
  let api: TestApp;
  let other: SecurityTenant;
  let revokedKey: string;
  let operations: Map<string, DocumentedOperation>;
  const figures: { route: string; runs: number; swept: number; statuses: string; ms: number }[] =
    [];

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startTestApp(database, redis);
    other = await seedSecurityTenant(database.db, api.url, api.config, 'other');
    const revoked = await createApiKey(database.db, {
      organizationId: other.organizationId,
      actorUserId: 'revoked',
    });
    await revokeApiKey(database.db, revoked.record.id);
    revokedKey = revoked.key;
    const response = await fetch(`${api.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as Parameters<typeof documentedOperations>[0];
    operations = new Map(documentedOperations(document).map((op) => [op.key, op]));
  }, 60_000);

  afterAll(async () => {
    const lines = figures.map(
      (row) =>
        `  ${row.route.padEnd(72)} ${String(row.runs).padStart(5)} generated ` +
        `${String(row.swept).padStart(4)} swept ${String(row.ms).padStart(6)} ms  ${row.statuses}`,
    );
    process.stdout.write(
      `\nfuzzed ${family} (FUZZ_RUNS=${FUZZ_RUNS}, budget ${ROUTE_BUDGET_MS} ms a route):\n` +
        `${lines.join('\n')}\n`,
    );
    await api?.stop();
    await database?.drop();
    await redis.clear();
  });

  /** The error the app logged for a 500, found by the `error_id` of its answer. */
  function loggedError(response: RawResponse): string {
    const errorId = /"error_id":"([^"]+)"/.exec(response.text)?.[1];
    const line = api.logs().find((logged) => errorId !== undefined && logged.error_id === errorId);
    const err = line?.err as { message?: string; stack?: string } | undefined;
    return err === undefined ? '' : `\nlogged: ${err.stack ?? err.message ?? ''}`.slice(0, 1_500);
  }

  /** Sends one request and checks every property; `before` is the fingerprint it started from. */
  async function check(
    request: RawRequest,
    before: TableFingerprint,
  ): Promise<{ status: number; after: TableFingerprint }> {
    const sent = await rawRequest(api.url, request, { timeoutMs: REQUEST_TIMEOUT_MS }).then(
      (response) => ({ response }),
      (error: unknown) => ({ error }),
    );
    const after = await tableFingerprint(database.db);
    if ('error' in sent) {
      if (sent.error instanceof HangError) throw sent.error;
      throw new Error(`request failed: ${String(sent.error)}`, { cause: sent.error });
    }
    const { response } = sent;
    const what = `${response.status} ${response.text.slice(0, 300)}`;
    if (response.status >= 500) throw new Error(`5xx: ${what}${loggedError(response)}`);
    if (response.status >= 400) {
      const problem = errorShapeProblem(response);
      if (problem !== undefined) throw new Error(`bad error shape (${problem}): ${what}`);
      const written = changedTables(before, after);
      if (written.length > 0) {
        throw new Error(`a ${response.status} wrote rows: ${written.join('; ')}: ${what}`);
      }
    }
    const polluted = prototypePolluted();
    if (polluted.length > 0) throw new Error(`Object.prototype polluted: ${polluted.join(', ')}`);
    return { status: response.status, after };
  }

  const describeRequest = (request: FuzzRequest | RawRequest): string =>
    JSON.stringify({ ...request, body: request.body?.toString().slice(0, 500) });

  describe(`fuzzing the ${family} routes`, () => {
    it('has an example for every route the OpenAPI document lists, and no other', () => {
      const documented = [...operations.keys()].sort();
      const examples = Object.keys(ROUTE_EXAMPLES).sort();
      expect(documented.filter((key) => !examples.includes(key))).toEqual([]);
      expect(examples.filter((key) => !documented.includes(key))).toEqual([]);
    });

    const keys = Object.keys(ROUTE_EXAMPLES).filter((key) => fuzzFamily(key) === family);
    it.each(keys)(
      '%s: no 5xx, no hang, 4xx in the error shape and writing nothing',
      async (key) => {
        const operation = operations.get(key);
        expect(operation, `${key} is not in /openapi.json`).toBeDefined();
        const caller = await seedSecurityTenant(
          database.db,
          api.url,
          api.config,
          `fuzz${figures.length}`,
        );
        const fuzzKeys: FuzzKeys = { own: caller.key, others: [other.key, revokedKey] };
        const example = ROUTE_EXAMPLES[key]!(caller);
        const statuses = new Map<number, number>();
        const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
        let before = await tableFingerprint(database.db);
        const started = Date.now();

        for (const request of sweepRequests(operation!, example, caller.key)) {
          try {
            const checked = await check(request, before);
            before = checked.after;
            count(checked.status);
          } catch (error) {
            throw new Error(`${key}, ${describeRequest(request)}: ${String(error)}`, {
              cause: error,
            });
          }
        }
        const swept = [...statuses.values()].reduce((sum, n) => sum + n, 0);

        const property = fc.asyncProperty(
          fuzzRequests(operation!, example, fuzzKeys),
          async (request) => {
            const checked = await check(request, before);
            before = checked.after;
            count(checked.status);
          },
        );
        const details = await fc.check(property, {
          numRuns: FUZZ_RUNS,
          interruptAfterTimeLimit: ROUTE_BUDGET_MS,
          markInterruptAsFailure: false,
          endOnFailure: true,
          ...(SEED === undefined ? {} : { seed: SEED }),
        });
        figures.push({
          route: key,
          runs: details.numRuns,
          swept,
          ms: Date.now() - started,
          statuses: [...statuses.entries()]
            .sort(([a], [b]) => a - b)
            .map(([status, n]) => `${status}×${n}`)
            .join(' '),
        });
        if (details.failed) {
          const counterexample = details.counterexample?.[0];
          throw new Error(
            `${key} failed after ${details.numRuns} runs (seed ${details.seed}, path ` +
              `${details.counterexamplePath}): ${String(details.errorInstance)}\n` +
              (counterexample === undefined ? '' : describeRequest(counterexample)),
          );
        }
        expect(details.numRuns).toBeGreaterThan(0);
      },
      120_000,
    );
  });
}
