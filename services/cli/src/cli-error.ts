/**
 * A failure the CLI reports as one line on stderr, without a stack trace. `exitCode` is 2 when
 * the input as given can never work (usage), and 1 when it was well-formed but the operation
 * failed (an organization that does not exist, a key already revoked).
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

export function failure(message: string): CliError {
  return new CliError(message, EXIT_FAILURE);
}
