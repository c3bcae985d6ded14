import type { Provider } from '@outbound/domain';

/**
 * Why a send can never succeed as it stands, or must not be retried:
 * - `provider_bad_response`: the provider said yes but its answer could not be read, so the
 *   message may well have been delivered and a retry could send it twice;
 * - `partially_sent`: a message that takes several provider calls failed after some of them were
 *   accepted; a retry would send those again;
 * - `reauthorization_required`: the sender's grant is gone (Google's `invalid_grant`: the refresh
 *   token was revoked or expired) or lacks a scope sending needs. No send through this sender can
 *   succeed until someone authorises it again, so the dispatcher should mark the sender, not
 *   just fail the delivery. `unauthorized` is the other credential failure: a wrong password or
 *   api key, or an OAuth client that is not recognised.
 */
export type PermanentErrorCode =
  | 'invalid_message'
  | 'invalid_recipient'
  | 'rejected_by_provider'
  | 'unauthorized'
  | 'reauthorization_required'
  | 'provider_bad_response'
  | 'partially_sent';

/** Why a send failed this time but may succeed later. */
export type RetryableErrorCode =
  'timeout' | 'connection_failed' | 'provider_unavailable' | 'rate_limited' | 'temporary_failure';

/** Retrying cannot help: the delivery fails at once. */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
  readonly code: PermanentErrorCode;

  constructor(code: PermanentErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export interface RetryableDeliveryErrorOptions extends ErrorOptions {
  /** How long the provider asked us to wait (from `Retry-After`), when it said. */
  retryAfterMs?: number;
}

/** The same send may succeed later: the dispatcher retries it with backoff. */
export class RetryableDeliveryError extends Error {
  override readonly name = 'RetryableDeliveryError';
  readonly code: RetryableErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: RetryableErrorCode,
    message: string,
    options: RetryableDeliveryErrorOptions = {},
  ) {
    super(message, options);
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export type AdapterSetupErrorCode =
  'provider_not_available' | 'channel_not_served' | 'invalid_settings' | 'invalid_credentials';

/** An adapter could not be built for a sender; nothing was sent. */
export class AdapterSetupError extends Error {
  override readonly name = 'AdapterSetupError';
  readonly code: AdapterSetupErrorCode;
  readonly provider: Provider;

  constructor(
    code: AdapterSetupErrorCode,
    provider: Provider,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.provider = provider;
  }
}
