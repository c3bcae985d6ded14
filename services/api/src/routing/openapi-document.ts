import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import type { ResponseSpec, Route } from './route.ts';

export type OpenApiDocument = ReturnType<typeof createDocument>;

export type OpenApiInfo = {
  title: string;
  version: string;
  description?: string;
};

/** Names of the security schemes in the document; either one authenticates a caller. */
export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'An Outbound API key: `Authorization: Bearer <key>`.',
  },
  apiKeyHeader: {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
    description: 'An Outbound API key: `X-API-Key: <key>`.',
  },
} as const;

const requestIdHeader = z.object({
  'X-Request-Id': z.string().meta({
    description: "The request's id: the caller's own when it was sane, a new UUIDv7 otherwise.",
  }),
});

const rateLimitFields = {
  'RateLimit-Limit': z.int().meta({
    description: 'Requests this API key may make per window (absent when no limit is set).',
  }),
  'RateLimit-Remaining': z.int().meta({ description: 'Requests left in the current window.' }),
  'RateLimit-Reset': z.int().meta({ description: 'Seconds until the current window resets.' }),
};

/** What every answer to an API-key route carries while the per-key rate limit is on. */
const rateLimitedRouteHeaders = requestIdHeader.extend({
  'RateLimit-Limit': rateLimitFields['RateLimit-Limit'].optional(),
  'RateLimit-Remaining': rateLimitFields['RateLimit-Remaining'].optional(),
  'RateLimit-Reset': rateLimitFields['RateLimit-Reset'].optional(),
});

const tooManyRequests: ZodOpenApiResponseObject = {
  description:
    'The API key made more requests than the configured rate in the current window ' +
    '(`rate_limited`; `details` has `limit`, `window_seconds` and `retry_after_seconds`). ' +
    'The limit is per API key and holds across every API process.',
  headers: requestIdHeader.extend({
    'Retry-After': z.int().meta({ description: 'Seconds to wait before trying again.' }),
    ...rateLimitFields,
  }),
  content: { 'application/json': { schema: errorResponseSchema } },
};

function errorResponse(description: string): ZodOpenApiResponseObject {
  return {
    description,
    headers: requestIdHeader,
    content: { 'application/json': { schema: errorResponseSchema } },
  };
}

/** One named example of a request or an answer body. */
export interface NamedExample {
  summary: string;
  value: unknown;
}

/**
 * Examples of one operation's JSON bodies: the request's, and the answers' by status. Each is
 * checked against the route's own schema when the document is built, so none can drift.
 */
export interface OperationExamples {
  request?: Readonly<Record<string, NamedExample>>;
  responses?: Readonly<Record<number, Readonly<Record<string, NamedExample>>>>;
}

export interface OpenApiOptions {
  /** Examples by `operationId`; naming an operation no route declares is an error. */
  examples?: Readonly<Record<string, OperationExamples>>;
}

/** An OpenAPI 3.1 document with one operation per declared route, and nothing else. */
export function buildOpenApiDocument(
  routes: readonly Route[],
  info: OpenApiInfo,
  options: OpenApiOptions = {},
): OpenApiDocument {
  const examples = options.examples ?? {};
  const unknown = Object.keys(examples).filter(
    (id) => !routes.some((route) => route.operationId === id),
  );
  if (unknown.length > 0) throw new Error(`examples for unknown operations: ${unknown.join()}`);
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    const operationExamples = examples[route.operationId] ?? {};
    checkExamples(route, operationExamples);
    paths[route.path] = {
      ...paths[route.path],
      [route.method]: operation(route, operationExamples),
    };
  }
  return createDocument({
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: { ErrorResponse: errorResponseSchema },
      securitySchemes: SECURITY_SCHEMES,
    },
  });
}

/** Throws when an example is not one the route's schemas accept. */
function checkExamples(route: Route, examples: OperationExamples): void {
  const check = (what: string, schema: z.ZodType | undefined, named: object | undefined) => {
    for (const [name, example] of Object.entries(named ?? {}) as [string, NamedExample][]) {
      if (schema === undefined) {
        throw new Error(`${route.operationId}: ${what} example "${name}" has no JSON schema`);
      }
      const parsed = schema.safeParse(example.value);
      if (!parsed.success) {
        throw new Error(
          `${route.operationId}: ${what} example "${name}" does not match its schema: ` +
            z.prettifyError(parsed.error),
        );
      }
    }
  };
  check('request', route.request?.body, examples.request);
  for (const [status, named] of Object.entries(examples.responses ?? {})) {
    check(`${status} response`, route.responses[Number(status)]?.schema, named);
  }
}

function operation(route: Route, examples: OperationExamples): ZodOpenApiOperationObject {
  const { params, query, body, form } = route.request ?? {};
  const responses: ZodOpenApiResponsesObject = {};
  const limited = route.auth === 'api-key';
  for (const [status, spec] of Object.entries(route.responses)) {
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: spec.description,
      headers: limited ? rateLimitedRouteHeaders : requestIdHeader,
      ...responseContent(spec, examples.responses?.[Number(status)]),
    };
  }
  if (params !== undefined || query !== undefined || body !== undefined) {
    responses['400'] ??= errorResponse('Malformed JSON or invalid input (`details.issues`).');
  }
  if (body !== undefined) {
    responses['413'] ??= errorResponse('The body exceeds the size limit.');
    responses['415'] ??= errorResponse('The body has a Content-Type this route does not accept.');
  }
  if (limited) {
    responses['401'] ??= errorResponse('Missing, malformed, unknown or revoked API key.');
    responses['429'] ??= tooManyRequests;
  }
  responses.default = errorResponse('Any other failure, in the shared error shape.');

  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description === undefined ? {} : { description: route.description }),
    ...(route.tags === undefined ? {} : { tags: [...route.tags] }),
    security: route.auth === 'api-key' ? [{ bearer: [] }, { apiKeyHeader: [] }] : [],
    ...(params === undefined && query === undefined
      ? {}
      : {
          requestParams: {
            ...(params === undefined ? {} : { path: params }),
            ...(query === undefined ? {} : { query }),
          },
        }),
    ...(body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: body,
                ...(examples.request === undefined ? {} : { examples: { ...examples.request } }),
              },
              ...(form === undefined ? {} : { 'multipart/form-data': { schema: form } }),
            },
          },
        }),
    responses,
  };
}

/** How binary content is described: any bytes of the declared type. */
const BINARY_SCHEMA = { type: 'string', format: 'binary' } as const;

function responseContent(
  spec: ResponseSpec,
  examples: Readonly<Record<string, NamedExample>> | undefined,
): Pick<ZodOpenApiResponseObject, 'content'> {
  if (spec.binary !== undefined) {
    return {
      content: Object.fromEntries(
        spec.binary.contentTypes.map((type) => [type, { schema: BINARY_SCHEMA }]),
      ),
    };
  }
  return spec.schema === undefined
    ? {}
    : {
        content: {
          'application/json': {
            schema: spec.schema,
            ...(examples === undefined ? {} : { examples: { ...examples } }),
          },
        },
      };
}
