import { z } from 'zod';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { clip, parseRetryAfter } from '../http-calls.ts';

type Answer = { status: number; headers: Headers };
type DeliveryError = PermanentDeliveryError | RetryableDeliveryError;

/** Google's OAuth error body (RFC 6749 §5.2): `{ "error": "invalid_grant", "error_description": ... }`. */
const oauthErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

/**
 * Google's API error body: `{ "error": { code, message, status, errors: [{ reason }],
 * details: [{ "@type": ".../google.rpc.ErrorInfo", reason }] } }`.
 */
const apiErrorSchema = z.object({
  error: z.object({
    message: z.string().optional(),
    status: z.string().optional(),
    errors: z.array(z.object({ reason: z.string().optional() })).optional(),
    details: z.array(z.object({ reason: z.string().optional() }).loose()).optional(),
  }),
});

/** 403 reasons that are quotas: the same send goes through once the quota refills. */
const QUOTA_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'dailyLimitExceeded',
  'quotaExceeded',
]);
/** The grant lacks the `gmail.send` scope: only a new consent fixes it. */
const SCOPE_REASONS = new Set(['insufficientPermissions', 'ACCESS_TOKEN_SCOPE_INSUFFICIENT']);

/**
 * What a non-2xx answer of the token endpoint means.
 *
 * | answer | error |
 * |---|---|
 * | `invalid_grant` (refresh token revoked, expired, or never issued) | permanent `reauthorization_required` |
 * | 5xx | retryable `provider_unavailable`, with `Retry-After` when given |
 * | 429 | retryable `rate_limited`, with `Retry-After` |
 * | 408 | retryable `timeout` |
 * | other OAuth errors (`invalid_client`, `unauthorized_client`...), 401, 403 | permanent `unauthorized` |
 * | other (3xx, 404: `token_url` is wrong) | permanent `rejected_by_provider` |
 *
 * Only Google's error code and description reach the message, never the request.
 */
export function tokenEndpointError(answer: Answer, text: string): DeliveryError {
  const parsed = oauthErrorSchema.safeParse(parseJson(text));
  const said = parsed.success
    ? [parsed.data.error, parsed.data.error_description].filter(Boolean).join(': ')
    : text;
  const message = `gmail token endpoint answered ${answer.status}${wordsOf(said)}`;
  const retryable = retryableFor(answer, message);
  if (retryable !== undefined) return retryable;
  if (parsed.success && parsed.data.error === 'invalid_grant') {
    return new PermanentDeliveryError(
      'reauthorization_required',
      `${message} (the account must authorise Outbound again)`,
    );
  }
  if (parsed.success || answer.status === 401 || answer.status === 403) {
    return new PermanentDeliveryError('unauthorized', message);
  }
  return new PermanentDeliveryError('rejected_by_provider', message);
}

/**
 * What a non-2xx answer of `messages.send` means. A 401 reaches here only after the adapter
 * refreshed its token and was refused again.
 *
 * | answer | error |
 * |---|---|
 * | 5xx | retryable `provider_unavailable`, with `Retry-After` when given |
 * | 429, or 403 for a quota (`rateLimitExceeded`, `userRateLimitExceeded`, `dailyLimitExceeded`) | retryable `rate_limited`, with `Retry-After` |
 * | 408 | retryable `timeout` |
 * | 403 for a missing scope (`insufficientPermissions`) | permanent `reauthorization_required` |
 * | 401, other 403 | permanent `unauthorized` |
 * | 400 "Invalid To header", "Recipient address required" | permanent `invalid_recipient` |
 * | other (3xx, 400, 404) | permanent `rejected_by_provider`, with Google's message |
 */
export function sendError(answer: Answer, text: string): DeliveryError {
  const parsed = apiErrorSchema.safeParse(parseJson(text));
  const error = parsed.success ? parsed.data.error : undefined;
  const said =
    error === undefined ? text : [error.status, error.message].filter(Boolean).join(': ');
  const message = `gmail messages.send answered ${answer.status}${wordsOf(said)}`;
  const reasons = new Set(
    [...(error?.errors ?? []), ...(error?.details ?? [])].flatMap((item) => item.reason ?? []),
  );
  const has = (wanted: Set<string>) => [...reasons].some((reason) => wanted.has(reason));

  const retryable = retryableFor(answer, message);
  if (retryable !== undefined) return retryable;
  if (answer.status === 403 && has(QUOTA_REASONS)) return rateLimited(answer, message);
  if (answer.status === 403 && has(SCOPE_REASONS)) {
    return new PermanentDeliveryError(
      'reauthorization_required',
      `${message} (the grant lacks the gmail.send scope: the account must authorise Outbound again)`,
    );
  }
  if (answer.status === 401 || answer.status === 403) {
    return new PermanentDeliveryError('unauthorized', message);
  }
  if (
    answer.status === 400 &&
    /invalid (to|cc|bcc) header|recipient address required/i.test(said)
  ) {
    return new PermanentDeliveryError('invalid_recipient', message);
  }
  return new PermanentDeliveryError('rejected_by_provider', message);
}

const sentSchema = z.object({ id: z.string().min(1) });

/**
 * The id of the message a 2xx `messages.send` answer names. An answer without one is a
 * permanent `provider_bad_response`: Gmail said yes, so the message has most likely gone out,
 * and a retry could send it twice.
 */
export function sentMessageId(status: number, text: string): string {
  const parsed = sentSchema.safeParse(parseJson(text));
  if (parsed.success) return parsed.data.id;
  throw new PermanentDeliveryError(
    'provider_bad_response',
    `gmail messages.send answered ${status} without a message id; the message may have been ` +
      'sent, so it is not retried',
  );
}

function retryableFor(answer: Answer, message: string): RetryableDeliveryError | undefined {
  if (answer.status >= 500) return withRetryAfter('provider_unavailable', answer, message);
  if (answer.status === 429) return rateLimited(answer, message);
  if (answer.status === 408) return withRetryAfter('timeout', answer, message);
  return undefined;
}

function rateLimited(answer: Answer, message: string): RetryableDeliveryError {
  return withRetryAfter('rate_limited', answer, message);
}

function withRetryAfter(
  code: 'provider_unavailable' | 'rate_limited' | 'timeout',
  answer: Answer,
  message: string,
): RetryableDeliveryError {
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
  return new RetryableDeliveryError(
    code,
    message,
    retryAfterMs === undefined ? {} : { retryAfterMs },
  );
}

function wordsOf(said: string): string {
  const words = clip(said);
  return words === '' ? '' : `: ${words}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
