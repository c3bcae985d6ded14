import { ERROR_STATUS, type ErrorCode } from './error-codes.ts';

export type ErrorDetails = Readonly<Record<string, unknown>>;

/**
 * The one error type handlers and middleware throw on purpose. The error middleware renders it
 * as `{"error":{"code","message","details"},"request_id"}` with `status`; `message` and
 * `details` go to the client, so they must never hold secrets or internals.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails | null;

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    details: ErrorDetails | null = null,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** An AppError whose status is the code's usual one. */
  static of(
    code: ErrorCode,
    message: string,
    details: ErrorDetails | null = null,
    options?: ErrorOptions,
  ): AppError {
    return new AppError(code, ERROR_STATUS[code], message, details, options);
  }
}
