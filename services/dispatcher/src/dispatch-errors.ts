/**
 * Failure codes the dispatcher writes itself, besides the adapters' own
 * (`PermanentErrorCode`, `RetryableErrorCode`) and `AdapterSetupErrorCode`.
 */
export type DispatchErrorCode =
  | 'sender_not_working'
  | 'sender_cannot_send'
  | 'channel_not_supported'
  | 'retries_exhausted'
  | 'unexpected_error';

/** A delivery the dispatcher refuses to attempt, for good (the sender cannot send, ...). */
export class PermanentDispatchError extends Error {
  override readonly name = 'PermanentDispatchError';
  readonly code: DispatchErrorCode;

  constructor(code: DispatchErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
