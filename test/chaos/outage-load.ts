import { randomUUID } from 'node:crypto';
import type { Db } from '@outbound/db';
import type { SandboxFixture } from '../support/sandbox-fixture.ts';

/** Where an outage test is when a request starts or is answered. */
export type Phase = 'before' | 'outage' | 'after';

/** One `POST /v2/outbound/sends` of a steady load, and how it was answered. */
export interface LoadRequest {
  index: number;
  idempotencyKey: string;
  body: Record<string, unknown>;
  startedIn: Phase;
  /** The HTTP status, or `no answer` when the request failed or timed out. */
  status: number | 'no answer';
  answeredIn: Phase | undefined;
  /** The parsed answer (JSON), or the error when there was none. */
  answer: unknown;
}

export interface SteadyLoadOptions {
  baseUrl: string;
  fixture: SandboxFixture;
  /** One request every `everyMs`, not waiting for earlier answers (a hang cannot slow the stream). */
  everyMs: number;
  /** The stream stops by itself after this many requests. */
  maxRequests: number;
  /** A request with no answer after this long counts as `no answer`. */
  requestTimeoutMs: number;
  phase: () => Phase;
}

export interface SteadyLoad {
  readonly requests: readonly LoadRequest[];
  /** Stops starting requests and resolves once every started one is answered or timed out. */
  stop(): Promise<readonly LoadRequest[]>;
}

/** The body of an immediate WhatsApp send of `fixture`'s session to all its groups. */
export function sendBody(fixture: SandboxFixture, key: string, text: string) {
  return {
    session_id: fixture.sessionId,
    group_ids: fixture.groupIds,
    idempotency_key: key,
    text,
  };
}

/** Posts the send `body` once; answers the status and the parsed body. */
export async function postSend(
  baseUrl: string,
  fixture: SandboxFixture,
  body: Record<string, unknown>,
  timeoutMs: number,
): Promise<{ status: number; answer: unknown }> {
  const response = await fetch(`${baseUrl}/v2/outbound/sends`, {
    method: 'POST',
    headers: fixture.headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let answer: unknown = text;
  try {
    answer = JSON.parse(text) as unknown;
  } catch {
    // A body that is not JSON is kept as text, so the assertion shows it.
  }
  return { status: response.status, answer };
}

/** A steady stream of immediate sends, each with a fresh idempotency key. */
export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  const requests: LoadRequest[] = [];
  const inFlight = new Set<Promise<void>>();

  function fire(): void {
    if (requests.length >= options.maxRequests) {
      clearInterval(timer);
      return;
    }
    const index = requests.length;
    const idempotencyKey = `chaos-${index}-${randomUUID()}`;
    const request: LoadRequest = {
      index,
      idempotencyKey,
      body: sendBody(options.fixture, idempotencyKey, `steady load #${index}`),
      startedIn: options.phase(),
      status: 'no answer',
      answeredIn: undefined,
      answer: undefined,
    };
    requests.push(request);
    const done = postSend(options.baseUrl, options.fixture, request.body, options.requestTimeoutMs)
      .then(
        ({ status, answer }) => {
          request.status = status;
          request.answer = answer;
          request.answeredIn = options.phase();
        },
        (error: unknown) => {
          request.answer = error instanceof Error ? error.message : String(error);
        },
      )
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  }

  const timer = setInterval(fire, options.everyMs);
  fire();
  return {
    requests,
    stop: async () => {
      clearInterval(timer);
      while (inFlight.size > 0) await Promise.all(inFlight);
      return requests;
    },
  };
}

/** The send id of a 202 answer (`accepted` or `duplicate_accepted`). */
export function sendIdOf(answer: unknown): string {
  const sendId = (answer as { send?: { send_id?: unknown } } | undefined)?.send?.send_id;
  if (typeof sendId !== 'string') throw new Error(`no send id in ${JSON.stringify(answer)}`);
  return sendId;
}

/** Delivery statuses of the given sends, counted: `{ sent: 10, queued: 2 }`. */
export async function deliveryStatusCounts(
  db: Db,
  sendIds: readonly string[],
): Promise<Record<string, number>> {
  if (sendIds.length === 0) return {};
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', db.fn.countAll<number>().as('count')])
    .where('send_id', 'in', sendIds)
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
}

/**
 * For every delivery of the organization: how many times the sandbox received it, and whether
 * the dispatcher flagged it as a possible duplicate.
 */
export async function sandboxReceipts(
  db: Db,
  organizationId: string,
): Promise<{ deliveryId: string; received: number; possibleDuplicate: boolean }[]> {
  const rows = await db
    .selectFrom('deliveries')
    .leftJoin('sandbox_messages', 'sandbox_messages.delivery_id', 'deliveries.id')
    .select([
      'deliveries.id',
      'deliveries.possible_duplicate',
      db.fn.count<number>('sandbox_messages.id').as('received'),
    ])
    .where('deliveries.organization_id', '=', organizationId)
    .groupBy(['deliveries.id', 'deliveries.possible_duplicate'])
    .execute();
  return rows.map((row) => ({
    deliveryId: row.id,
    received: Number(row.received),
    possibleDuplicate: row.possible_duplicate,
  }));
}

/** The `/readyz` answer. */
export async function readiness(baseUrl: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(10_000) });
  const body: unknown = await response.json();
  return { status: response.status, body };
}

/** `host:port` of a connection string, defaults filled in. */
export function targetOf(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname === 'localhost' ? '127.0.0.1' : parsed.hostname,
    port: parsed.port === '' ? defaultPort : Number(parsed.port),
  };
}

/** The same connection string pointed at 127.0.0.1:`port`. */
export function throughProxy(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

/** Milliseconds as seconds with one decimal, for figures. */
export const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;

/** Prints what a test measured, one figure a line, so a report can quote it. */
export function printFigures(title: string, lines: readonly string[]): void {
  // eslint-disable-next-line no-console -- the figures are what these tests report
  console.info([title, ...lines.map((line) => `  ${line}`)].join('\n'));
}
