import type { RequestHandler, Response, Router } from 'express';
import { findPrincipal } from '../auth/principal.ts';
import { getRequestId } from '../http/request-id.middleware.ts';
import type { Route } from './route.ts';
import { validateInput } from './validate-input.ts';

export interface MountRoutesOptions {
  /** Runs before the handler of every route declared with `auth: 'api-key'`. */
  authenticate: RequestHandler;
}

const PATH_PARAM = /\{([^}]*)\}/g;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Mounts declared routes on an Express router. Refuses, at start, a route declared twice or
 * whose path parameters and `request.params` schema disagree, so the document cannot drift.
 */
export function mountRoutes(
  router: Router,
  routes: readonly Route[],
  options: MountRoutesOptions,
): void {
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method.toUpperCase()} ${route.path}`;
    if (seen.has(key)) throw new Error(`route ${key} is declared twice`);
    seen.add(key);
    assertParamsMatchPath(route);

    const handlers: RequestHandler[] = [];
    if (route.auth === 'api-key') handlers.push(options.authenticate);
    handlers.push(async (req, res) => {
      const input = validateInput(route.request ?? {}, req);
      const reply = await route.handler(
        { ...input, principal: findPrincipal(res) },
        { req, res, log: req.log, requestId: getRequestId(res) },
      );
      send(route, reply, res);
    });
    router[route.method](toExpressPath(route.path), ...handlers);
  }
}

function send(route: Route, reply: Awaited<ReturnType<Route['handler']>>, res: Response): void {
  const spec = route.responses[reply.status];
  if (spec === undefined) {
    throw new Error(`${route.operationId} answered ${reply.status}, which it does not declare`);
  }
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.status(reply.status);
  if (spec.schema === undefined) {
    res.end();
  } else {
    // Parsing the reply keeps it to the declared contract: unknown fields never leak out.
    res.json(spec.schema.parse(reply.body));
  }
}

/** Names of the `{params}` in an OpenAPI path. */
export function pathParamNames(path: string): string[] {
  return [...path.matchAll(PATH_PARAM)].map((match) => match[1] ?? '');
}

/** `/v2/things/{id}` → `/v2/things/:id`. */
export function toExpressPath(path: string): string {
  return path.replace(PATH_PARAM, (_, name: string) => `:${name}`);
}

function assertParamsMatchPath(route: Route): void {
  const inPath = pathParamNames(route.path);
  const bad = inPath.find((name) => !PARAM_NAME.test(name));
  if (bad !== undefined) throw new Error(`${route.path}: bad path parameter name "${bad}"`);
  const declared = Object.keys(route.request?.params?.shape ?? {});
  if ([...inPath].sort().join() !== [...declared].sort().join()) {
    throw new Error(
      `${route.method.toUpperCase()} ${route.path}: path parameters [${inPath.join(', ')}] ` +
        `differ from request.params [${declared.join(', ')}]`,
    );
  }
}
