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

function errorResponse(description: string): ZodOpenApiResponseObject {
  return {
    description,
    headers: requestIdHeader,
    content: { 'application/json': { schema: errorResponseSchema } },
  };
}

/** An OpenAPI 3.1 document with one operation per declared route, and nothing else. */
export function buildOpenApiDocument(routes: readonly Route[], info: OpenApiInfo): OpenApiDocument {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
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

function operation(route: Route): ZodOpenApiOperationObject {
  const { params, query, body, form } = route.request ?? {};
  const responses: ZodOpenApiResponsesObject = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    responses[status as `${1 | 2 | 3 | 4 | 5}${string}`] = {
      description: spec.description,
      headers: requestIdHeader,
      ...responseContent(spec),
    };
  }
  if (params !== undefined || query !== undefined || body !== undefined) {
    responses['400'] ??= errorResponse('Malformed JSON or invalid input (`details.issues`).');
  }
  if (body !== undefined) {
    responses['413'] ??= errorResponse('The body exceeds the size limit.');
    responses['415'] ??= errorResponse('The body has a Content-Type this route does not accept.');
  }
  if (route.auth === 'api-key') {
    responses['401'] ??= errorResponse('Missing, malformed, unknown or revoked API key.');
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
              'application/json': { schema: body },
              ...(form === undefined ? {} : { 'multipart/form-data': { schema: form } }),
            },
          },
        }),
    responses,
  };
}

/** How binary content is described: any bytes of the declared type. */
const BINARY_SCHEMA = { type: 'string', format: 'binary' } as const;

function responseContent(spec: ResponseSpec): Pick<ZodOpenApiResponseObject, 'content'> {
  if (spec.binary !== undefined) {
    return {
      content: Object.fromEntries(
        spec.binary.contentTypes.map((type) => [type, { schema: BINARY_SCHEMA }]),
      ),
    };
  }
  return spec.schema === undefined
    ? {}
    : { content: { 'application/json': { schema: spec.schema } } };
}
