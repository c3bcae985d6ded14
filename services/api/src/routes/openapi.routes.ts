import { z } from 'zod';
import type { OpenApiDocument } from '../routing/openapi-document.ts';
import { defineRoute, type Route } from '../routing/route.ts';

/** `/openapi.json`: the document built from every declared route, this one included. */
export function openApiRoutes(document: () => OpenApiDocument): Route[] {
  const openApi = defineRoute({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI 3.1 document',
    tags: ['operations'],
    auth: 'none',
    responses: {
      200: {
        description: 'The OpenAPI 3.1 document of every route.',
        schema: z.looseObject({ openapi: z.string() }),
      },
    },
  }).handle(() => ({ status: 200, body: { ...document() } }));
  return [openApi];
}
