import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RequestHandler } from 'express';

/** Where the docs page's scripts and styles are served from (never a CDN). */
export const DOCS_ASSETS_PATH = '/docs/assets';

/**
 * Only this origin: the page, its scripts and styles, and `/openapi.json` all come from the
 * API itself. `data:` images are Swagger UI's inline SVG icons (in its stylesheet).
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const swaggerUiDist = dirname(
  createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
);

/** Swagger UI starts from a script of ours: the policy allows no inline script. */
const INITIALIZER = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#docs',
    deepLinking: true,
    // Swagger UI would otherwise send the document to a public validator for a badge.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

type Asset = { contentType: string } & ({ file: string } | { text: string });

const ASSETS: Readonly<Record<string, Asset>> = {
  'swagger-ui.css': { contentType: 'text/css', file: join(swaggerUiDist, 'swagger-ui.css') },
  'swagger-ui-bundle.js': {
    contentType: 'text/javascript',
    file: join(swaggerUiDist, 'swagger-ui-bundle.js'),
  },
  'favicon-32x32.png': { contentType: 'image/png', file: join(swaggerUiDist, 'favicon-32x32.png') },
  'docs.js': { contentType: 'text/javascript', text: INITIALIZER },
};

/** The docs page: Swagger UI over `/openapi.json`, everything served by this API. */
export function docsPage(title: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(title)}</title>
    <link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png">
    <link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
  </head>
  <body>
    <noscript>This page needs JavaScript; the API description itself is at /openapi.json.</noscript>
    <div id="docs"></div>
    <script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="${DOCS_ASSETS_PATH}/docs.js"></script>
  </body>
</html>
`;
}

/**
 * Serves the few files the docs page loads, from `swagger-ui-dist` in node_modules; any other
 * name falls through to the API's 404. Mount it at `DOCS_ASSETS_PATH`.
 */
export function docsAssets(): RequestHandler {
  return (req, res, next) => {
    const name = req.path.slice(1);
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (asset === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.type(asset.contentType);
    if ('text' in asset) {
      res.send(asset.text);
      return;
    }
    // pnpm keeps packages under node_modules/.pnpm, a dot directory `send` skips by default.
    res.sendFile(asset.file, { dotfiles: 'allow' }, (error) => {
      if (error !== undefined && !res.headersSent) next(error);
    });
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
