import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  endpointOf,
  nestError,
  sentAnswer,
  sessionNotReady,
  validate,
  wahaCrash,
  type SendBody,
  type WahaEngine,
  type WahaSendEndpoint,
  type WahaSentMessage,
  type WahaSessionStatus,
} from './waha-wire.ts';
import { closeServer, listenOnLoopback } from './loopback-http.ts';

export type { WahaEngine, WahaSendEndpoint, WahaSentMessage, WahaSessionStatus };

export interface WahaServerOptions {
  /** When set, every request must carry it as `X-Api-Key`, or gets WAHA's 401. */
  apiKey?: string;
  /** The sessions that exist and their status; `{ default: 'WORKING' }` unless given. */
  sessions?: Record<string, WahaSessionStatus>;
  /** Default `WEBJS`. */
  engine?: WahaEngine;
}

/** One HTTP request the fake received, whatever it answered. */
export interface WahaCall {
  method: string;
  /** Path and query, e.g. `/api/sendText`. */
  path: string;
  /** The `X-Api-Key` header, if any. */
  apiKey: string | undefined;
  /** The parsed JSON body; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  /**
   * The status the fake answered; `reset` when it dropped the connection instead; `pending` while
   * a delayed request waits (and for good when the client gave up and the server stopped first).
   */
  answer: number | 'reset' | 'pending';
}

/**
 * A failure to stage. Each is WAHA's (or the proxy in front of it's) real answer:
 * - `status`: answers `status` with WAHA's error body (NestJS's `{ statusCode, message, error }`,
 *   or WAHA's 500 `{ statusCode, exception: { message }, ... }`) and `Retry-After` when given;
 *   nothing is sent. Covers 400/422 refusals, 429, 500, 503.
 * - `session_not_ready`: WAHA's 422 `{ error: "Session status is not as expected...", session,
 *   status, expected: ["WORKING"] }` for a session that is not WORKING; nothing is sent.
 * - `delay`: holds the request `ms`, then handles it normally (sends and answers). A client that
 *   hangs up meanwhile does not cancel it, as with WAHA; `stop()` does.
 * - `reset_after_send`: sends the message, then destroys the socket without answering.
 * - `malformed_json`: sends the message, then answers 201 with a body that is not JSON.
 * - `no_message_id`: sends the message, then answers 201 `{}`.
 */
export type WahaFault =
  | { type: 'status'; status: number; message?: string; retryAfter?: string }
  | { type: 'session_not_ready'; status: Exclude<WahaSessionStatus, 'WORKING'> }
  | { type: 'delay'; ms: number }
  | { type: 'reset_after_send' }
  | { type: 'malformed_json' }
  | { type: 'no_message_id' };

/** Which send requests a fault applies to (all given fields must match), and how often. */
export interface WahaFaultTarget {
  session?: string;
  chatId?: string;
  endpoint?: WahaSendEndpoint;
  /** How many matching requests go by (whatever answers them) before the fault applies; 0. */
  after?: number;
  /** How many matching requests get the fault; 1 by default, `Infinity` for all of them. */
  times?: number;
}

/**
 * A local HTTP server speaking WAHA's send API: `POST /api/sendText` `{ session, chatId, text }`
 * and `POST /api/sendImage` `{ session, chatId, file: { url | data, mimetype, filename? },
 * caption? }`. It checks the request as WAHA does, in WAHA's order: `X-Api-Key` (401), route
 * (404), JSON body and fields (400), session exists (404) and is WORKING (422); then sends (records
 * the message) and answers 201 with the engine's message shape.
 *
 * A test programs failures with `inject(fault, target)` and reads what arrived with `calls()`
 * (every request) and `messages()` / `message(id)` (what was sent). It leaves out everything but
 * sending: no session management, webhooks or media download.
 */
export interface WahaServer {
  /** `http://127.0.0.1:<port>`; throws before `start()`. */
  readonly url: string;
  start(): Promise<void>;
  /** Closes every connection and drops pending delays. */
  stop(): Promise<void>;
  /** Stages a fault for the matching send requests; faults apply in the order they were staged. */
  inject(fault: WahaFault, target?: WahaFaultTarget): void;
  /** Adds a session or changes its status. */
  setSession(name: string, status: WahaSessionStatus): void;
  calls(): WahaCall[];
  messages(): WahaSentMessage[];
  /** A sent message by its serialized or short id. */
  message(id: string): WahaSentMessage | undefined;
  /** Forgets calls, messages and staged faults (sessions stay). */
  reset(): void;
}

interface StagedFault {
  fault: WahaFault;
  target: WahaFaultTarget;
  /** Matching requests still to let through. */
  skip: number;
  /** Matching requests still to fail. */
  left: number;
}

export function createWahaServer(options: WahaServerOptions = {}): WahaServer {
  const engine = options.engine ?? 'WEBJS';
  const sessions = new Map<string, WahaSessionStatus>(
    Object.entries(options.sessions ?? { default: 'WORKING' }),
  );
  let calls: WahaCall[] = [];
  let messages: WahaSentMessage[] = [];
  let faults: StagedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let port: number | undefined;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) answer(res, 500, nestError(500, String(error)));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const call: WahaCall = {
      method: req.method ?? '',
      path: req.url ?? '',
      apiKey: headerOf(req, 'x-api-key'),
      body: raw === '' ? undefined : (tryJson(raw) ?? raw),
      answer: 'pending',
    };
    calls.push(call);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.answer = status;
      answer(res, status, body, headers);
    };

    if (options.apiKey !== undefined && call.apiKey !== options.apiKey) {
      return reply(401, { message: 'Unauthorized', statusCode: 401 });
    }
    const endpoint = endpointOf(call.method, call.path);
    if (endpoint === undefined) {
      return reply(404, nestError(404, `Cannot ${call.method} ${call.path}`));
    }
    if (!(headerOf(req, 'content-type') ?? '').includes('application/json')) {
      return reply(400, nestError(400, ['body must be application/json']));
    }
    const body = tryJson(raw);
    if (body === undefined) return reply(400, nestError(400, 'Unexpected end of JSON input'));
    const problems = validate(endpoint, body);
    if (problems.length > 0) return reply(400, nestError(400, problems));
    const request = body as SendBody;

    const status = sessions.get(request.session);
    if (status === undefined) {
      return reply(
        404,
        nestError(
          404,
          `We didn't find a session with name '${request.session}'.\n` +
            `Please start it first by using POST /api/sessions/${request.session}/start request`,
        ),
      );
    }
    if (status !== 'WORKING') return reply(422, sessionNotReady(request.session, status));

    const fault = takeFault(endpoint, request);
    switch (fault?.type) {
      case 'status': {
        const headers: Record<string, string> =
          fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
        const body =
          fault.status >= 500 && fault.status !== 503
            ? wahaCrash(fault.status, fault.message ?? 'Internal error', call)
            : nestError(fault.status, fault.message ?? STATUS_CODES[fault.status] ?? 'Error');
        return reply(fault.status, body, headers);
      }
      case 'session_not_ready':
        return reply(422, sessionNotReady(request.session, fault.status));
      case 'delay':
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            resolve();
          }, fault.ms);
          timers.add(timer);
        });
        break;
      case 'reset_after_send':
        record(endpoint, request);
        call.answer = 'reset';
        req.socket.destroy();
        return;
      case 'malformed_json':
        record(endpoint, request);
        call.answer = 201;
        res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"id": {"fromMe": true, "remote": ');
        return;
      case 'no_message_id':
        record(endpoint, request);
        return reply(201, {});
      case undefined:
        break;
    }
    const sent = record(endpoint, request);
    reply(201, sentAnswer(engine, sent));
  }

  function takeFault(endpoint: WahaSendEndpoint, request: SendBody): WahaFault | undefined {
    const matching = faults.filter(
      ({ target, left }) =>
        left > 0 &&
        (target.endpoint === undefined || target.endpoint === endpoint) &&
        (target.session === undefined || target.session === request.session) &&
        (target.chatId === undefined || target.chatId === request.chatId),
    );
    // Every matching fault still counting down sees this request go by.
    const staged = matching.find((fault) => fault.skip === 0);
    for (const fault of matching) if (fault.skip > 0) fault.skip -= 1;
    if (staged === undefined) return undefined;
    staged.left -= 1;
    return staged.fault;
  }

  function record(endpoint: WahaSendEndpoint, request: SendBody): WahaSentMessage {
    const shortId = randomBytes(10).toString('hex').toUpperCase();
    const message: WahaSentMessage = {
      id: `true_${request.chatId}_${shortId}`,
      shortId,
      endpoint,
      session: request.session,
      chatId: request.chatId,
      ...(request.text === undefined ? {} : { text: request.text }),
      ...(request.caption === undefined ? {} : { caption: request.caption }),
      ...(request.file === undefined ? {} : { file: { ...request.file } }),
    };
    messages.push(message);
    return message;
  }

  return {
    get url() {
      if (port === undefined) throw new Error('the fake WAHA server is not started');
      return `http://127.0.0.1:${port}`;
    },
    async start() {
      port = await listenOnLoopback(server);
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeServer(server);
      port = undefined;
    },
    inject(fault, target = {}) {
      faults.push({ fault, target, skip: target.after ?? 0, left: target.times ?? 1 });
    },
    setSession(name, status) {
      sessions.set(name, status);
    },
    calls: () => calls.map((call) => ({ ...call })),
    messages: () => messages.map((message) => ({ ...message })),
    message(id) {
      const found = messages.find((message) => message.id === id || message.shortId === id);
      return found === undefined ? undefined : { ...found };
    },
    reset() {
      calls = [];
      messages = [];
      faults = [];
    },
  };
}

/** Creates a fake WAHA server and starts it. */
export async function startWahaServer(options: WahaServerOptions = {}): Promise<WahaServer> {
  const server = createWahaServer(options);
  await server.start();
  return server;
}

function answer(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
