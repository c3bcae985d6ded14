import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { clip, transportError } from '../http-calls.ts';

/** The fields nodemailer sets on its errors (`_formatError`). */
interface NodemailerFailure {
  message: string;
  code?: string;
  /** The system error's own code (`ECONNREFUSED`, `DEPTH_ZERO_SELF_SIGNED_CERT`...). */
  originalCode?: string;
  responseCode?: number;
  command?: string;
}

/** Node's codes for a certificate it could not verify. */
const UNTRUSTED_CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)/;

/** Words SMTP servers use when a 4xx is about sending too fast. */
const THROTTLED = /rate|too many|throttl|slow down/i;

/**
 * What a failed SMTP transaction means; `where` names the server (`smtp host:port`).
 *
 * | failure | error |
 * |---|---|
 * | `signal` fired (`timeoutMs` ran out, or the caller aborted), or a socket timeout | retryable `timeout` |
 * | a certificate that cannot be verified | permanent `rejected_by_provider` (check `tls`, `tls_ca`) |
 * | 4xx reply (421, 450, 451, 452, 454...) | retryable `rate_limited` when it says so, `provider_unavailable` otherwise |
 * | 503 (bad sequence: a broken session, not a refused message) | retryable `temporary_failure` |
 * | 5xx to AUTH, 530 (authentication required), a login nodemailer could not attempt | permanent `unauthorized` |
 * | 5xx to RCPT TO (every recipient refused) | permanent `invalid_recipient` |
 * | other 5xx (MAIL FROM, DATA, STARTTLS not offered) | permanent `rejected_by_provider` |
 * | connection refused, reset, DNS, garbled answers | retryable `connection_failed` |
 *
 * A recipient refused while others are accepted is not an error: the message went to those,
 * as Gmail's would, and a retry would send it to them twice. nodemailer's messages carry the
 * server's reply and never the password (its AUTH errors name only the method).
 */
export function smtpError(
  where: string,
  error: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): PermanentDeliveryError | RetryableDeliveryError {
  const failure = asFailure(error);
  const command =
    failure.command === undefined || failure.command === 'API' ? '' : ` ${failure.command}`;
  const message = `${where}${command}: ${clip(failure.message)}`;
  const options = { cause: error };

  if (signal.aborted) return transportError(where, error, signal, timeoutMs);
  if (failure.code === 'ETIMEDOUT') return new RetryableDeliveryError('timeout', message, options);
  if (UNTRUSTED_CERTIFICATE.test(failure.originalCode ?? '')) {
    return new PermanentDeliveryError(
      'rejected_by_provider',
      `${message} (the server's certificate is not trusted: check the sender's tls and tls_ca)`,
      options,
    );
  }
  const reply = failure.responseCode;
  if (reply !== undefined && reply >= 400 && reply < 500) {
    const code = THROTTLED.test(failure.message) ? 'rate_limited' : 'provider_unavailable';
    return new RetryableDeliveryError(code, message, options);
  }
  if (reply === 503) return new RetryableDeliveryError('temporary_failure', message, options);
  if (failure.code === 'EAUTH' || failure.code === 'ENOAUTH' || reply === 530) {
    return new PermanentDeliveryError('unauthorized', message, options);
  }
  if (reply !== undefined && reply >= 500) {
    const code = failure.command === 'RCPT TO' ? 'invalid_recipient' : 'rejected_by_provider';
    return new PermanentDeliveryError(code, message, options);
  }
  return new RetryableDeliveryError('connection_failed', message, options);
}

function asFailure(error: unknown): NodemailerFailure {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = error as Error & Record<string, unknown>;
  const text = (key: string) => (typeof fields[key] === 'string' ? fields[key] : undefined);
  const responseCode = fields.responseCode;
  return {
    message: error.message,
    ...(text('code') === undefined ? {} : { code: text('code') }),
    ...(text('originalCode') === undefined ? {} : { originalCode: text('originalCode') }),
    ...(text('command') === undefined ? {} : { command: text('command') }),
    ...(typeof responseCode === 'number' ? { responseCode } : {}),
  };
}
