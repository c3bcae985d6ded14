import { DOCS_CONTENT_SECURITY_POLICY, docsPage } from '../docs/docs-page.ts';
import { defineRoute, type Route } from '../routing/route.ts';

/** `/docs`: a readable page over `/openapi.json` (Swagger UI, served from node_modules). */
export function docsRoutes(title: string): Route[] {
  const page = Buffer.from(docsPage(title));
  const docs = defineRoute({
    method: 'get',
    path: '/docs',
    operationId: 'getDocsPage',
    summary: 'This API’s documentation, as a web page',
    description:
      'Swagger UI rendering `/openapi.json`. Its scripts and styles are served by the API ' +
      'under `/docs/assets/`, and a Content-Security-Policy allows nothing from elsewhere.',
    tags: ['operations'],
    auth: 'none',
    responses: {
      200: { description: 'The HTML page.', binary: { contentTypes: ['text/html'] } },
    },
  }).handle(() => ({
    status: 200,
    body: page,
    contentType: 'text/html',
    headers: {
      'Content-Security-Policy': DOCS_CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    },
  }));
  return [docs];
}
