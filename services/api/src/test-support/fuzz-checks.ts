import { errorResponseSchema } from '../errors/error-response.schema.ts';
import type { RawResponse } from './raw-http.ts';

/**
 * Why an error answer is not in the shared shape `{"error":{"code","message","details"},
 * "request_id"}` with the response's own request id; undefined when it is.
 */
export function errorShapeProblem(response: RawResponse): string | undefined {
  const type = response.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) return `content type is "${type}"`;
  let body: unknown;
  try {
    body = JSON.parse(response.text);
  } catch {
    return `body is not JSON: ${response.text.slice(0, 200)}`;
  }
  const parsed = errorResponseSchema.strict().safeParse(body);
  if (!parsed.success) return `body is not the error shape: ${response.text.slice(0, 300)}`;
  const requestId = response.headers['x-request-id'];
  if (parsed.data.request_id !== requestId) {
    return `request_id ${parsed.data.request_id} is not the X-Request-Id ${String(requestId)}`;
  }
  return undefined;
}

/** Whether anything has been planted on `Object.prototype` (a prototype-pollution probe). */
export function prototypePolluted(): string[] {
  const probe: Record<string, unknown> = {};
  const planted = ['polluted', 'isAdmin', 'x', 'a', 'b', 'c'].filter(
    (name) => probe[name] !== undefined,
  );
  const own = Object.getOwnPropertyNames(Object.prototype).filter(
    (name) => !BUILT_IN_PROTOTYPE_NAMES.has(name),
  );
  return [...planted, ...own];
}

const BUILT_IN_PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));
