import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  basicAuthOf,
  MAGIC_FROM_VALID,
  messageResource,
  messagesAccountOf,
  newMessageSid,
  notFound,
  refusalOf,
  twilioError,
  type CreateRequest,
  type TwilioCall,
  type TwilioSentMessage,
} from './twilio-wire.ts';
import { closeServer, listenOnLoopback } from './loopback-http.ts';

export type { TwilioCall, TwilioSentMessage };
export { MAGIC_FROM_ERRORS, MAGIC_FROM_VALID, MAGIC_TO_ERRORS } from './twilio-wire.ts';

export interface TwilioServerOptions {
  /** The one account the fake serves, `AC…`. */
  accountSid: string;
  /** Its auth token: basic auth with the account sid as user. */
  authToken: string;
  /** Its API keys, sid (`SK…`) to secret: basic auth with the key sid as user. */
  apiKeys?: Record<string, string>;
  /** The numbers it may send from; `[MAGIC_FROM_VALID]` unless given. */
  numbers?: string[];
  /** Its Messaging Services (`MG…`); none unless given. */
  messagingServices?: string[];
}

/**
 * A failure to stage. Each is Twilio's (or the load balancer in front of it's) real answer:
 * - `error`: answers Twilio's error body for `code` (`{ code, message, more_info, status }`)
 *   with its usual HTTP status and words unless `status` / `message` say otherwise, and
 *   `Retry-After` when given; nothing is sent. Covers 20429, 20500, 21211, 21610...
 * - `proxy`: answers `status` with a non-JSON body (an HTML 502 page), `Retry-After` when given.
 * - `delay`: holds the request `ms`, then handles it normally. A client that hangs up meanwhile
 *   does not cancel it, as with Twilio; `stop()` does.
 * - `reset_after_send`: accepts the message, then destroys the socket without answering.
 * - `malformed_json`: accepts the message, then answers 201 with a body that is not JSON.
 * - `no_sid`: accepts the message, then answers 201 `{}`.
 */
export type TwilioFault =
  | { type: 'error'; code: number; status?: number; message?: string; retryAfter?: string }
  | { type: 'proxy'; status: number; text?: string; retryAfter?: string }
  | { type: 'delay'; ms: number }
  | { type: 'reset_after_send' }
  | { type: 'malformed_json' }
  | { type: 'no_sid' };

/** Which create-message requests a fault applies to (`to` must match when given), and how often. */
export interface TwilioFaultTarget {
  to?: string;
  /** How many matching requests go by (whatever answers them) before the fault applies; 0. */
  after?: number;
  /** How many matching requests get the fault; 1 by default, `Infinity` for all of them. */
  times?: number;
}

/**
 * A local HTTP server speaking Twilio's create-message API:
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From` or
 * `MessagingServiceSid`, `Body`, with HTTP basic auth (account sid and auth token, or API key
 * sid and secret). It checks the request as Twilio does, in Twilio's order: credentials and
 * their account (401, 20003), route (404, 20404), then the fields (`refusalOf`: 21604, 21603,
 * 21602, 21617, 21211, 21705, 21701, 21212, 21606, and the magic numbers of Twilio's test
 * credentials). An accepted message gets an `SM…` sid and a 201 with Twilio's Message resource.
 * A body that is not form-encoded reads as no fields at all (21604), as with Twilio.
 *
 * A test stages failures with `inject(fault, target)` and reads what arrived with `calls()`
 * (every request) and `messages()` / `message(sid)` (what was accepted). It leaves out
 * everything but creating messages: no status callbacks, media, scheduling or delivery.
 */
export interface TwilioServer {
  /** `http://127.0.0.1:<port>`: the API base URL; throws before `start()`. */
  readonly url: string;
  start(): Promise<void>;
  /** Closes every connection and drops pending delays. */
  stop(): Promise<void>;
  /** Stages a fault for the matching requests; faults apply in the order they were staged. */
  inject(fault: TwilioFault, target?: TwilioFaultTarget): void;
  calls(): TwilioCall[];
  messages(): TwilioSentMessage[];
  message(sid: string): TwilioSentMessage | undefined;
  /** Forgets calls, messages and staged faults (the account stays). */
  reset(): void;
}

interface StagedFault {
  fault: TwilioFault;
  target: TwilioFaultTarget;
  /** Matching requests still to let through. */
  skip: number;
  /** Matching requests still to fail. */
  left: number;
}

export function createTwilioServer(options: TwilioServerOptions): TwilioServer {
  const account = {
    numbers: new Set(options.numbers ?? [MAGIC_FROM_VALID]),
    messagingServices: new Set(options.messagingServices ?? []),
  };
  const apiKeys = new Map(Object.entries(options.apiKeys ?? {}));
  let calls: TwilioCall[] = [];
  let messages: TwilioSentMessage[] = [];
  let faults: StagedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let port: number | undefined;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) answer(res, 500, twilioError(20500, {}, { message: String(error) }));
    });
  });

  /** Who the credentials are, when they are the account's; undefined otherwise. */
  function authenticate(header: string | undefined): string | undefined {
    const auth = basicAuthOf(header);
    if (auth === undefined) return undefined;
    if (auth.user === options.accountSid && auth.password === options.authToken) return auth.user;
    return apiKeys.get(auth.user) === auth.password ? auth.user : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const contentType = req.headers['content-type'];
    const formEncoded = (contentType ?? '').startsWith('application/x-www-form-urlencoded');
    const call: TwilioCall = {
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      contentType,
      form: formEncoded ? Object.fromEntries(new URLSearchParams(raw)) : {},
      body: raw,
      answer: 'pending',
    };
    calls.push(call);
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.answer = status;
      answer(res, status, body, headers);
    };

    const authenticatedAs = authenticate(call.authorization);
    const pathAccount = /^\/2010-04-01\/Accounts\/([^/?]+)/.exec(call.path)?.[1];
    // Credentials only open their own account: another account's path is refused the same way.
    if (
      authenticatedAs === undefined ||
      (pathAccount ?? options.accountSid) !== options.accountSid
    ) {
      return reply(401, twilioError(20003), { 'www-authenticate': 'Basic realm="Twilio API"' });
    }
    if (messagesAccountOf(call.method, call.path) === undefined) {
      return reply(404, notFound(call.path.split('?')[0] ?? ''));
    }
    const { form } = call;
    const request: CreateRequest = {
      to: form.To,
      from: form.From,
      messagingServiceSid: form.MessagingServiceSid,
      body: form.Body,
    };
    const refusal = refusalOf(request, account);
    if (refusal !== undefined) {
      const error = twilioError(refusal, request);
      return reply(error.status, error);
    }

    const fault = takeFault(request.to ?? '');
    const retryAfter = (value: string | undefined): Record<string, string> =>
      value === undefined ? {} : { 'retry-after': value };
    switch (fault?.type) {
      case 'error': {
        const error = twilioError(fault.code, request, fault);
        return reply(error.status, error, retryAfter(fault.retryAfter));
      }
      case 'proxy': {
        call.answer = fault.status;
        const words = `${fault.status} ${STATUS_CODES[fault.status] ?? 'Error'}`;
        res.writeHead(fault.status, {
          'content-type': 'text/html',
          ...retryAfter(fault.retryAfter),
        });
        res.end(
          fault.text ?? `<html><head><title>${words}</title></head><body>${words}</body></html>`,
        );
        return;
      }
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
        record(request, authenticatedAs);
        call.answer = 'reset';
        req.socket.destroy();
        return;
      case 'malformed_json':
        record(request, authenticatedAs);
        call.answer = 201;
        res.writeHead(201, { 'content-type': 'application/json; charset=utf-8' });
        res.end('{"account_sid": "AC');
        return;
      case 'no_sid':
        record(request, authenticatedAs);
        return reply(201, {});
      case undefined:
        break;
    }
    reply(201, messageResource(record(request, authenticatedAs)));
  }

  function takeFault(to: string): TwilioFault | undefined {
    const matching = faults.filter(
      ({ target, left }) => left > 0 && (target.to === undefined || target.to === to),
    );
    // Every matching fault still counting down sees this request go by.
    const staged = matching.find((fault) => fault.skip === 0);
    for (const fault of matching) if (fault.skip > 0) fault.skip -= 1;
    if (staged === undefined) return undefined;
    staged.left -= 1;
    return staged.fault;
  }

  function record(request: CreateRequest, authenticatedAs: string): TwilioSentMessage {
    const sent: TwilioSentMessage = {
      sid: newMessageSid(),
      accountSid: options.accountSid,
      to: request.to ?? '',
      from: request.from ?? null,
      messagingServiceSid: request.messagingServiceSid ?? null,
      body: request.body ?? '',
      authenticatedAs,
    };
    messages.push(sent);
    return sent;
  }

  return {
    get url() {
      if (port === undefined) throw new Error('the fake Twilio server is not started');
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
    calls: () => calls.map((call) => ({ ...call, form: { ...call.form } })),
    messages: () => messages.map((message) => ({ ...message })),
    message(sid) {
      const found = messages.find((message) => message.sid === sid);
      return found === undefined ? undefined : { ...found };
    },
    reset() {
      calls = [];
      messages = [];
      faults = [];
    },
  };
}

/** Creates a fake Twilio server and starts it. */
export async function startTwilioServer(options: TwilioServerOptions): Promise<TwilioServer> {
  const server = createTwilioServer(options);
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
