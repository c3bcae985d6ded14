import { RetryableDeliveryError } from './delivery-errors.ts';

/**
 * The signal one provider call runs under: its own `timeoutMs`, and the caller's signal when it
 * gave one. `transportError` reads it to tell a timeout from a connection failure.
 */
export function callSignal(timeoutMs: number, callerSignal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return callerSignal === undefined ? timeout : AbortSignal.any([timeout, callerSignal]);
}

/**
 * What a call that got no answer means: a retryable `timeout` when its signal fired (`timeoutMs`
 * ran out, or the caller aborted), a retryable `connection_failed` otherwise (refused, reset,
 * DNS). `what` names the call in the message, e.g. `waha sendText`.
 */
export function transportError(
  what: string,
  error: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): RetryableDeliveryError {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const why =
      reason instanceof DOMException && reason.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : 'the send was aborted';
    return new RetryableDeliveryError('timeout', `${what}: ${why}`, { cause: error });
  }
  return new RetryableDeliveryError(
    'connection_failed',
    `${what}: could not complete the call (${describeFailure(error)})`,
    { cause: error },
  );
}

/** fetch's own message is just "fetch failed"; the reason (ECONNREFUSED...) is in its cause. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return error.message;
}

/**
 * `Retry-After` in milliseconds: delay-seconds, or an HTTP date (a date already past is 0).
 * Anything else is ignored.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, at - now);
}

/** A provider's words on one line, cut to a length a log line and an error column can hold. */
export function clip(text: string): string {
  const oneLine = text.replaceAll(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}
