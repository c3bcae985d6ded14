import { expect } from 'vitest';
import { errorResponseSchema, type ErrorResponse } from '../errors/error-response.schema.ts';

/** Reads an error answer, checking it has the shared shape and the response's request id. */
export async function readError(response: Response): Promise<ErrorResponse> {
  const body = errorResponseSchema.strict().parse(await response.json());
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}
