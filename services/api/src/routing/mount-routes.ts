import type { RequestHandler, Response, Router } from 'express';
import { findPrincipal } from '../auth/principal.ts';
import { AppError } from '../errors/app-error.ts';
import { getRequestId } from '../http/request-id.middleware.ts';
import { labelRoute } from '../http/request-metrics.middleware.ts';
import type { BodyContentType, ResponseSpec, Route } from './route.ts';
import { validateInput } from './validate-input.ts';

export interface MountRoutesOptions {
  /** Runs before the handler of every route declared with `auth: 'api-key'`. */
  authenticate: RequestHandler;
  /** Runs right after `authenticate` (the per-API-key rate limit); none when omitted. */
  rateLimit?: RequestHandler;
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

    // First, so refusals (401, 429, 415, 400) are counted under the route too.
    const handlers: RequestHandler[] = [labelRoute(route.path)];
    if (route.auth === 'api-key') {
      handlers.push(options.authenticate);
      if (options.rateLimit !== undefined) handlers.push(options.rateLimit);
    }
    const contentTypes = bodyContentTypes(route);
    if (contentTypes.length > 0) {
      handlers.push(requireContentType(contentTypes, route.request?.refusedBodyTypes ?? {}));
    }
    handlers.push(...(route.middleware ?? []));
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

/** The content types a route's body may have; none when it declares no body. */
function bodyContentTypes(route: Route): BodyContentType[] {
  if (route.request?.body === undefined) return [];
  return route.request.form === undefined
    ? ['application/json']
    : ['application/json', 'multipart/form-data'];
}

/** A body of another type would otherwise reach validation as "missing": say what is wrong. */
function requireContentType(
  accepted: readonly BodyContentType[],
  refused: Readonly<Record<string, string>>,
): RequestHandler {
  return (req, _res, next) => {
    // Without a Content-Type (or a body) there is nothing to refuse: validation reports it.
    const contentType = req.get('content-type');
    if (contentType !== undefined && req.is(accepted as BodyContentType[]) === false) {
      const explained = Object.keys(refused).find((type) => req.is(type) === type);
      throw AppError.of(
        'unsupported_media_type',
        explained === undefined
          ? `Content-Type ${contentType} is not accepted here; send ${accepted.join(' or ')}`
          : `${refused[explained]}; send ${accepted.join(' or ')}`,
        { accepted: [...accepted] },
      );
    }
    next();
  };
}

function send(route: Route, reply: Awaited<ReturnType<Route['handler']>>, res: Response): void {
  const spec = route.responses[reply.status];
  if (spec === undefined) {
    throw new Error(`${route.operationId} answered ${reply.status}, which it does not declare`);
  }
  // Checked before anything is written, so a bad reply becomes a clean 500.
  const bytes = spec.binary === undefined ? undefined : binaryReply(route, spec.binary, reply);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.status(reply.status);
  if (bytes !== undefined) {
    res.setHeader('Content-Type', bytes.contentType);
    res.setHeader('Content-Length', bytes.body.length);
    res.end(bytes.body);
    return;
  }
  if (spec.schema === undefined) {
    res.end();
  } else {
    // Parsing the reply keeps it to the declared contract: unknown fields never leak out.
    res.json(spec.schema.parse(reply.body));
  }
}

function binaryReply(
  route: Route,
  declared: NonNullable<ResponseSpec['binary']>,
  reply: Awaited<ReturnType<Route['handler']>>,
): { body: Buffer; contentType: string } {
  const { body, contentType } = reply;
  if (!Buffer.isBuffer(body) || contentType === undefined) {
    throw new Error(`${route.operationId} must answer ${reply.status} with a Buffer and a type`);
  }
  if (!declared.contentTypes.includes(contentType)) {
    throw new Error(`${route.operationId} answered ${contentType}, which it does not declare`);
  }
  return { body, contentType };
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
