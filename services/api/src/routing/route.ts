import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '@outbound/config';
import type { z } from 'zod';
import type { Principal } from '../auth/principal.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** `api-key`: the caller must present a live API key; `none`: anyone may call. */
export type AuthRequirement = 'api-key' | 'none';

/** A JSON answer, or one without a body. */
export interface JsonResponseSpec {
  description: string;
  /** The JSON body; omit for an answer without a body (204). */
  schema?: z.ZodType;
  binary?: undefined;
}

/** Raw bytes (files, images): the handler answers a Buffer and one of the declared types. */
export interface BinaryResponseSpec {
  description: string;
  schema?: undefined;
  binary: { contentTypes: readonly [string, ...string[]] };
}

export type ResponseSpec = JsonResponseSpec | BinaryResponseSpec;

export type ResponseSpecs = Readonly<Record<number, ResponseSpec>>;

/** The content types a request body may have. */
export type BodyContentType = 'application/json' | 'multipart/form-data';

/** Schemas for what the caller sends. Path parameters must match the `{names}` in the path. */
export interface RequestSpec {
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** The body as the handler receives it: parsed JSON, or what `middleware` made of a form. */
  body?: z.ZodType;
  /**
   * The route also accepts `multipart/form-data`, documented by this schema. The route's
   * `middleware` must parse the form and set `req.body` to the shape `body` validates; the
   * routing layer refuses every other content type with 415.
   */
  form?: z.ZodType;
  /**
   * Why a body type the route does not take is refused (`{ 'multipart/form-data': '…' }`):
   * the 415 carries this message instead of the generic one.
   */
  refusedBodyTypes?: Readonly<Record<string, string>>;
}

type Parsed<Spec, Key extends keyof RequestSpec> = Spec extends {
  [K in Key]: infer Schema extends z.ZodType;
}
  ? z.output<Schema>
  : undefined;

/** What a handler receives: every declared part parsed, the principal when auth is required. */
export interface RouteInput<Req extends RequestSpec, Auth extends AuthRequirement> {
  params: Parsed<Req, 'params'>;
  query: Parsed<Req, 'query'>;
  body: Parsed<Req, 'body'>;
  principal: Auth extends 'api-key' ? Principal : undefined;
}

/** What a handler answers: one of the declared statuses, with a body its schema accepts. */
export type RouteReply<Res extends ResponseSpecs> = {
  [Status in keyof Res & number]: Res[Status] extends { binary: object }
    ? {
        status: Status;
        body: Buffer;
        /** One of the response's declared `binary.contentTypes`. */
        contentType: string;
        headers?: Readonly<Record<string, string>>;
      }
    : Res[Status] extends { schema: infer Schema extends z.ZodType }
      ? { status: Status; body: z.input<Schema>; headers?: Readonly<Record<string, string>> }
      : { status: Status; body?: undefined; headers?: Readonly<Record<string, string>> };
}[keyof Res & number];

export interface RouteContext {
  req: Request;
  res: Response;
  /** The request's logger, bound to its request id. */
  log: Logger;
  requestId: string;
}

/**
 * One HTTP route, declared once: the routing layer validates input against `request`, enforces
 * `auth`, checks the reply against `responses`, and documents all of it in the OpenAPI document.
 * Paths use OpenAPI syntax (`/v2/things/{id}`).
 */
export interface RouteSpec<
  Req extends RequestSpec,
  Res extends ResponseSpecs,
  Auth extends AuthRequirement,
> {
  method: HttpMethod;
  path: `/${string}`;
  operationId: string;
  summary: string;
  description?: string;
  tags?: readonly string[];
  auth: Auth;
  /**
   * Express middleware run after authentication and before input validation, e.g. to parse a
   * multipart form into `req.body`. Errors it throws reach the error middleware as usual.
   */
  middleware?: readonly RequestHandler[];
  request?: Req;
  responses: Res;
}

export type RouteHandler<
  Req extends RequestSpec,
  Res extends ResponseSpecs,
  Auth extends AuthRequirement,
> = (
  input: RouteInput<Req, Auth>,
  context: RouteContext,
) => Promise<RouteReply<Res>> | RouteReply<Res>;

interface AnyReply {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Readonly<Record<string, string>>;
}

/** A declared route with its types erased, as the routing layer and the document see it. */
export interface Route extends RouteSpec<RequestSpec, ResponseSpecs, AuthRequirement> {
  handler: (
    input: { params: unknown; query: unknown; body: unknown; principal: Principal | undefined },
    context: RouteContext,
  ) => Promise<AnyReply> | AnyReply;
}

/**
 * Declares a route: `defineRoute(spec).handle(handler)`. The handler's input and reply are typed
 * from the spec's schemas (two steps, so the spec's types are fixed before the handler is read).
 */
export function defineRoute<
  const Req extends RequestSpec = Record<never, never>,
  const Res extends ResponseSpecs = ResponseSpecs,
  const Auth extends AuthRequirement = AuthRequirement,
>(spec: RouteSpec<Req, Res, Auth>): { handle(handler: RouteHandler<Req, Res, Auth>): Route } {
  return {
    handle: (handler) => ({ ...spec, handler }) as unknown as Route,
  };
}
