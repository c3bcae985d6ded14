import { z } from 'zod';
import {
  PermanentDeliveryError,
  RetryableDeliveryError,
  type PermanentErrorCode,
  type RetryableErrorCode,
} from '../delivery-errors.ts';
import { clip, parseRetryAfter } from '../http-calls.ts';

type Answer = { status: number; headers: Headers };
type DeliveryError = PermanentDeliveryError | RetryableDeliveryError;

/** What Twilio's error codes mean for a send; the table of `sendError`. */
type Outcome =
  | { retryable: false; code: PermanentErrorCode; hint?: string }
  | { retryable: true; code: RetryableErrorCode };

const permanent = (code: PermanentErrorCode, hint?: string): Outcome =>
  hint === undefined ? { retryable: false, code } : { retryable: false, code, hint };
const retryable = (code: RetryableErrorCode): Outcome => ({ retryable: true, code });

const CHECK_SENDER = "check the sender's from or messaging_service_sid";

/**
 * The Twilio error codes a create-message call answers with, by meaning
 * (https://www.twilio.com/docs/api/errors). Codes not listed fall back on the HTTP status.
 */
const TWILIO_ERROR_OUTCOMES: ReadonlyMap<number, Outcome> = new Map([
  // The credentials: wrong token or key, another account's, a suspended account, test credentials.
  [20003, permanent('unauthorized')],
  [20005, permanent('unauthorized')],
  [20008, permanent('unauthorized')],
  [20404, permanent('rejected_by_provider', "check the sender's account_sid and base_url")],
  [20429, retryable('rate_limited')],
  [20500, retryable('provider_unavailable')],
  [20503, retryable('provider_unavailable')],
  // The recipient cannot get this SMS, whatever is retried: not a number, not a mobile, a
  // landline, not reachable by SMS, or it replied STOP to this sender.
  [21211, permanent('invalid_recipient')],
  [21604, permanent('invalid_recipient')],
  [21610, permanent('invalid_recipient')],
  [21612, permanent('invalid_recipient')],
  [21614, permanent('invalid_recipient')],
  [21635, permanent('invalid_recipient')],
  [21602, permanent('invalid_message')],
  [21617, permanent('invalid_message')],
  [21619, permanent('invalid_message')],
  // The From number's queue holds more than Twilio keeps (10 hours of sending): it drains.
  [21611, retryable('rate_limited')],
  // The sender cannot send this: its number or service, or the account's permissions.
  [21212, permanent('rejected_by_provider', CHECK_SENDER)],
  [21603, permanent('rejected_by_provider', CHECK_SENDER)],
  [21606, permanent('rejected_by_provider', CHECK_SENDER)],
  [21701, permanent('rejected_by_provider', CHECK_SENDER)],
  [21703, permanent('rejected_by_provider', CHECK_SENDER)],
  [21704, permanent('rejected_by_provider', CHECK_SENDER)],
  [21705, permanent('rejected_by_provider', CHECK_SENDER)],
  [21408, permanent('rejected_by_provider', "the account may not send SMS to the 'To' region")],
  [21608, permanent('rejected_by_provider', 'a trial account sends to verified numbers only')],
]);

/** Twilio's REST error body: `{ code, message, more_info, status }`. */
const twilioErrorSchema = z.object({
  code: z.int().optional(),
  message: z.string().optional(),
});

/**
 * What a non-2xx answer to `POST .../Messages.json` means.
 *
 * | answer | error |
 * |---|---|
 * | 5xx (20500, 20503; or a proxy's 502/504) | retryable `provider_unavailable`, with `Retry-After` when given |
 * | 429 or error 20429 (too many requests), error 21611 (the From number's queue is full) | retryable `rate_limited`, with `Retry-After` when given |
 * | 408 | retryable `timeout` |
 * | 20003 (authenticate), 20005 (account not active), 20008 (test credentials), other 401, 403 | permanent `unauthorized` |
 * | 21211 (invalid To), 21604, 21610 (unsubscribed), 21612 (unreachable), 21614 (not a mobile), 21635 (landline) | permanent `invalid_recipient` |
 * | 21602, 21617, 21619 (body missing or too long) | permanent `invalid_message` |
 * | 21212, 21603, 21606 (From), 21701, 21703–21705 (Messaging Service), 21408 (region permission), 21608 (trial) | permanent `rejected_by_provider`, saying what to check |
 * | 3xx, 404 / 20404, other 4xx | permanent `rejected_by_provider` |
 *
 * The message carries Twilio's own words and code, never the request or its credentials.
 */
export function sendError(answer: Answer, text: string, now: number = Date.now()): DeliveryError {
  const parsed = twilioErrorSchema.safeParse(parseJson(text));
  const body = parsed.success ? parsed.data : undefined;
  const said = clip(body?.message ?? (body === undefined ? text : ''));
  const message =
    `twilio messages.create answered ${answer.status}` +
    (said === '' ? '' : `: ${said}`) +
    (body?.code === undefined ? '' : ` (error ${body.code})`);

  const outcome = outcomeOf(answer.status, body?.code);
  if (outcome.retryable) {
    const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'), now);
    return new RetryableDeliveryError(
      outcome.code,
      message,
      retryAfterMs === undefined ? {} : { retryAfterMs },
    );
  }
  const hint =
    outcome.hint ??
    (answer.status >= 300 && answer.status < 400
      ? `a redirect${locationOf(answer.headers)}: check the sender's base_url`
      : undefined);
  return new PermanentDeliveryError(
    outcome.code,
    hint === undefined ? message : `${message}; ${hint}`,
  );
}

function outcomeOf(status: number, code: number | undefined): Outcome {
  // Whatever the body says, an overloaded or rate-limiting Twilio is worth another try.
  if (status >= 500) return retryable('provider_unavailable');
  if (status === 429) return retryable('rate_limited');
  if (status === 408) return retryable('timeout');
  const known = code === undefined ? undefined : TWILIO_ERROR_OUTCOMES.get(code);
  if (known !== undefined) return known;
  if (status === 401 || status === 403) return permanent('unauthorized');
  if (status === 404) return permanent('rejected_by_provider', "check the sender's base_url");
  return permanent('rejected_by_provider');
}

const createdSchema = z.object({ sid: z.string().min(1) });

/**
 * The sid of the message a 2xx answer created (`SM…`). An answer without one is a permanent
 * `provider_bad_response`: Twilio said yes, so the message is most likely queued, and a retry
 * could send it twice.
 */
export function createdMessageSid(status: number, text: string): string {
  const parsed = createdSchema.safeParse(parseJson(text));
  if (parsed.success) return parsed.data.sid;
  throw badResponse(status, 'its answer carries no message sid');
}

export function badResponse(status: number, why: string, cause?: unknown): PermanentDeliveryError {
  return new PermanentDeliveryError(
    'provider_bad_response',
    `twilio messages.create answered ${status} but ${why}; the message may have been sent, so ` +
      'it is not retried',
    { cause },
  );
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
