import { newId } from '@outbound/domain';
import { AppError } from './app-error.ts';
import { isDependencyUnavailable } from './dependency-unavailable.ts';

/**
 * What http-errors attaches to the errors body-parser raises (`type` names the failure; a
 * decompression error has none), and what the router sets on a path it cannot decode.
 */
interface HttpLikeError {
  type?: string;
  status: number;
  expose?: boolean;
  limit?: number;
}

function isHttpLikeError(error: unknown): error is Error & HttpLikeError {
  return error instanceof Error && typeof (error as Partial<HttpLikeError>).status === 'number';
}

/**
 * Turns anything thrown while handling a request into the AppError the client sees. Unexpected
 * errors become `internal_error` with a fresh `error_id` in the details, for the logs.
 */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isHttpLikeError(error)) {
    switch (error.type) {
      case 'entity.parse.failed':
        return AppError.of('malformed_json', 'The request body is not valid JSON', null, {
          cause: error,
        });
      case 'entity.too.large':
        return AppError.of(
          'payload_too_large',
          'The request body is larger than the server accepts',
          error.limit === undefined ? null : { limit_bytes: error.limit },
          { cause: error },
        );
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return AppError.of('unsupported_media_type', error.message, null, { cause: error });
      case undefined:
      default:
        // The router's "Failed to decode param" (a path that is not percent-encoded UTF-8).
        if (error instanceof URIError && error.status === 400) {
          return AppError.of('bad_request', error.message, null, { cause: error });
        }
        // body-parser's other failures, such as a body that does not match its Content-Encoding.
        if (error.expose === true && error.status >= 400 && error.status < 500) {
          return new AppError('bad_request', error.status, error.message, null, { cause: error });
        }
    }
  }
  if (isDependencyUnavailable(error)) {
    return AppError.of(
      'service_unavailable',
      'A backing service is unavailable; try again shortly',
      null,
      { cause: error },
    );
  }
  return AppError.of(
    'internal_error',
    'An unexpected error occurred',
    { error_id: newId() },
    { cause: error },
  );
}
