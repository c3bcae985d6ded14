import { z } from 'zod';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { clip, parseRetryAfter } from '../http-calls.ts';

export type WahaEndpoint = 'sendText' | 'sendImage';

const nonEmpty = z.string().min(1);

/**
 * What WAHA answers for a sent message. The shape depends on the session's engine: the `WAMessage`
 * of its OpenAPI (and GOWS) carries the serialized id as `id`; WEBJS hands back whatsapp-web.js's
 * message, whose `id` is an object with `_serialized`; NOWEB hands back Baileys's message, whose id
 * is `key.id`. The first that fits wins.
 */
const sentMessageSchema = z.union([
  z.object({ id: nonEmpty }).transform((message) => message.id),
  z
    .object({ id: z.object({ _serialized: nonEmpty }) })
    .transform((message) => message.id._serialized),
  z.object({ key: z.object({ id: nonEmpty }) }).transform((message) => message.key.id),
]);

/**
 * The message id in a 2xx answer. An answer without one is a permanent `provider_bad_response`:
 * WAHA said yes, so the message has probably gone out, and `sendText`/`sendImage` are not
 * idempotent; a retry would risk a duplicate, which is worse than a delivery marked failed.
 */
export function messageIdOf(endpoint: WahaEndpoint, status: number, text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw badResponse(endpoint, status, 'its answer is not JSON');
  }
  const parsed = sentMessageSchema.safeParse(body);
  if (!parsed.success) throw badResponse(endpoint, status, 'its answer carries no message id');
  return parsed.data;
}

export function badResponse(
  endpoint: WahaEndpoint,
  status: number,
  why: string,
  cause?: unknown,
): PermanentDeliveryError {
  return new PermanentDeliveryError(
    'provider_bad_response',
    `waha ${endpoint} answered ${status} but ${why}; the message may have been sent, so it is not retried`,
    { cause },
  );
}

/**
 * Turns a non-2xx answer into the delivery error it means.
 *
 * | answer | error |
 * |---|---|
 * | 3xx | permanent `rejected_by_provider` (base_url points somewhere that redirects) |
 * | 401, 403 | permanent `unauthorized` (missing or wrong api key) |
 * | 404 | permanent `rejected_by_provider` (unknown session, or base_url is not WAHA) |
 * | 408 | retryable `timeout` |
 * | 422 "Session status is not as expected" | retryable `provider_unavailable` (session not WORKING yet) |
 * | 429 | retryable `rate_limited`, with `Retry-After` |
 * | other 4xx | permanent `rejected_by_provider`, with WAHA's message |
 * | 5xx | retryable `provider_unavailable`, with `Retry-After` when given |
 */
export function errorForStatus(
  endpoint: WahaEndpoint,
  response: { status: number; headers: Headers },
  text: string,
  now: number = Date.now(),
): PermanentDeliveryError | RetryableDeliveryError {
  const { status } = response;
  const body = parseJson(text);
  const said = messageOf(body, text);
  const message = `waha ${endpoint} answered ${status}${said === '' ? '' : `: ${said}`}`;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now);
  const retryable = (code: 'timeout' | 'provider_unavailable' | 'rate_limited') =>
    new RetryableDeliveryError(code, message, retryAfterMs === undefined ? {} : { retryAfterMs });

  if (status >= 500) return retryable('provider_unavailable');
  if (status === 429) return retryable('rate_limited');
  if (status === 408) return retryable('timeout');
  if (status === 422 && isSessionNotReady(body)) return retryable('provider_unavailable');
  if (status === 401 || status === 403) return new PermanentDeliveryError('unauthorized', message);
  if (status >= 300 && status < 400) {
    return new PermanentDeliveryError(
      'rejected_by_provider',
      `${message} (a redirect${locationOf(response.headers)}: check the sender's base_url)`,
    );
  }
  return new PermanentDeliveryError('rejected_by_provider', message);
}

/**
 * WAHA refuses a send on a session that is not WORKING (starting, waiting for a QR scan, failed)
 * with a 422 whose body names the session's status. A session that is (re)starting is the common
 * case and passes; the dispatcher's bounded retries give an operator time to fix the others.
 */
function isSessionNotReady(body: unknown): boolean {
  if (!isRecord(body)) return false;
  if (Array.isArray(body.expected) && typeof body.status === 'string') return true;
  return typeof body.error === 'string' && /session status is not as expected/i.test(body.error);
}

/**
 * WAHA's own words, from the shapes it answers with: NestJS's `{ statusCode, message, error }`
 * (`message` may be a list of validation failures), its 500 `{ exception: { message } }`, and its
 * `{ error: "..." }` for session status; otherwise the start of the raw body.
 */
function messageOf(body: unknown, text: string): string {
  const words = isRecord(body) ? wordsOf(body) : undefined;
  return clip(words ?? text.trim());
}

function wordsOf(body: Record<string, unknown>): string | undefined {
  const { message, exception, error } = body;
  if (typeof message === 'string' && message !== '') return message;
  if (Array.isArray(message) && message.length > 0) return message.map(String).join('; ');
  if (isRecord(exception) && typeof exception.message === 'string') return exception.message;
  if (typeof error === 'string' && error !== '') {
    return typeof body.status === 'string' ? `${error} (session status ${body.status})` : error;
  }
  return undefined;
}

function locationOf(headers: Headers): string {
  const location = headers.get('location');
  return location === null ? '' : ` to ${clip(location)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
