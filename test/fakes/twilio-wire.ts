/* What Twilio's Messages API asks and answers, for the fake server in `twilio-server.ts`. */
import { randomBytes } from 'node:crypto';

/** Twilio's REST error body, as every error answer carries it. */
export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

/** A message the fake accepted ("queued at Twilio"). */
export interface TwilioSentMessage {
  /** `SM` and 32 hex digits, as Twilio's. */
  sid: string;
  accountSid: string;
  to: string;
  /** The `From` given; null when a Messaging Service picks the number. */
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  /** Who signed the request: the account sid (auth token) or an API key sid. */
  authenticatedAs: string;
}

/** One HTTP request the fake received, whatever it answered. */
export interface TwilioCall {
  method: string;
  /** Path and query, e.g. `/2010-04-01/Accounts/AC…/Messages.json`. */
  path: string;
  /** The `Authorization` header as sent, if any. */
  authorization: string | undefined;
  contentType: string | undefined;
  /** The form fields, when the body was form-encoded; `{}` otherwise. */
  form: Record<string, string>;
  /** The raw body. */
  body: string;
  /**
   * The status the fake answered; `reset` when it dropped the connection instead; `pending` while
   * a delayed request waits (and for good when the client gave up and the server stopped first).
   */
  answer: number | 'reset' | 'pending';
}

const E164 = /^\+[1-9]\d{1,14}$/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** The number Twilio's test credentials send from successfully. */
export const MAGIC_FROM_VALID = '+15005550006';

/**
 * Twilio's magic numbers for test credentials (https://www.twilio.com/docs/iam/test-credentials):
 * the error each `From` and `To` number always gets.
 */
export const MAGIC_FROM_ERRORS: Readonly<Record<string, number>> = {
  '+15005550001': 21212,
  '+15005550007': 21606,
  '+15005550008': 21611,
};
export const MAGIC_TO_ERRORS: Readonly<Record<string, number>> = {
  '+15005550001': 21211,
  '+15005550002': 21612,
  '+15005550003': 21408,
  '+15005550004': 21610,
  '+15005550009': 21614,
};

/** What a create-message request names, once its form is read. */
export interface CreateRequest {
  to?: string | undefined;
  from?: string | undefined;
  messagingServiceSid?: string | undefined;
  body?: string | undefined;
}

/** The HTTP status and words Twilio answers an error code with. */
const ERRORS: Record<number, { status: number; message: (request: CreateRequest) => string }> = {
  20003: { status: 401, message: () => 'Authenticate' },
  20429: { status: 429, message: () => 'Too Many Requests' },
  20500: { status: 500, message: () => 'An internal server error has occurred' },
  20503: { status: 503, message: () => 'Service Unavailable' },
  21211: { status: 400, message: (r) => `The 'To' number ${r.to} is not a valid phone number.` },
  21212: {
    status: 400,
    message: (r) =>
      `The 'From' number ${r.from} is not a valid phone number, shortcode, or alphanumeric sender ID.`,
  },
  21408: {
    status: 400,
    message: (r) =>
      `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${r.to}.`,
  },
  21602: { status: 400, message: () => 'Message body is required.' },
  21603: { status: 400, message: () => "A 'From' phone number is required." },
  21604: { status: 400, message: () => "A 'To' phone number is required." },
  21606: {
    status: 400,
    message: (r) =>
      `The From phone number ${r.from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
  },
  21610: { status: 400, message: () => 'Attempt to send to unsubscribed recipient' },
  21611: {
    status: 400,
    message: () => "This 'From' number has exceeded the maximum number of queued messages",
  },
  21612: {
    status: 400,
    message: (r) =>
      `The 'To' phone number: ${r.to}, is not currently reachable using the 'From' phone number: ${r.from} via SMS.`,
  },
  21614: { status: 400, message: (r) => `'To' number ${r.to} is not a valid mobile number` },
  21617: {
    status: 400,
    message: () => 'The concatenated message body exceeds the 1600 character limit.',
  },
  21701: {
    status: 400,
    message: (r) => `The Messaging Service Sid ${r.messagingServiceSid} is invalid.`,
  },
  21705: { status: 400, message: () => 'The Messaging Service is invalid.' },
};

/** Twilio's body for an error code; `status` and `message` default to Twilio's own. */
export function twilioError(
  code: number,
  request: CreateRequest = {},
  overrides: { status?: number | undefined; message?: string | undefined } = {},
): TwilioErrorBody {
  const known = ERRORS[code];
  return {
    code,
    message: overrides.message ?? known?.message(request) ?? `Error ${code}`,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status: overrides.status ?? known?.status ?? 400,
  };
}

/** Twilio's 404 for a path it does not serve. */
export function notFound(path: string): TwilioErrorBody {
  return {
    code: 20404,
    message: `The requested resource ${path} was not found`,
    more_info: 'https://www.twilio.com/docs/errors/20404',
    status: 404,
  };
}

/** The account sid of `POST /2010-04-01/Accounts/{sid}/Messages.json`; undefined for other requests. */
export function messagesAccountOf(method: string, path: string): string | undefined {
  if (method !== 'POST') return undefined;
  const pathname = path.split('?')[0] ?? '';
  return /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(pathname)?.[1];
}

/** The user and password of a `Basic` authorization header. */
export function basicAuthOf(
  header: string | undefined,
): { user: string; password: string } | undefined {
  const encoded = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '')?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** What the sender's account holds, for checking a request's From and Messaging Service. */
export interface AccountHoldings {
  numbers: ReadonlySet<string>;
  messagingServices: ReadonlySet<string>;
}

/**
 * The error code Twilio refuses a create-message request with, in its order: required fields,
 * their format, then what the account holds and the magic numbers. Undefined when it passes.
 */
export function refusalOf(request: CreateRequest, account: AccountHoldings): number | undefined {
  const { to, from, messagingServiceSid: service, body } = request;
  if (to === undefined || to === '') return 21604;
  if ((from === undefined || from === '') && (service === undefined || service === '')) {
    return 21603;
  }
  if (body === undefined || body === '') return 21602;
  if (body.length > 1_600) return 21617;
  if (!E164.test(to)) return 21211;
  if (service !== undefined && service !== '') {
    if (!MESSAGING_SERVICE_SID.test(service)) return 21705;
    if (!account.messagingServices.has(service)) return 21701;
  }
  if (from !== undefined && from !== '') {
    const magic = MAGIC_FROM_ERRORS[from];
    if (magic !== undefined) return magic;
    if (!E164.test(from)) return 21212;
    if (!account.numbers.has(from)) return 21606;
  }
  return MAGIC_TO_ERRORS[to];
}

export function newMessageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

/** The Message resource Twilio answers a created message with (201). */
export function messageResource(sent: TwilioSentMessage, now: Date = new Date()): unknown {
  const date = now.toUTCString().replace(/GMT$/, '+0000');
  const uri = `/2010-04-01/Accounts/${sent.accountSid}/Messages/${sent.sid}`;
  return {
    account_sid: sent.accountSid,
    api_version: '2010-04-01',
    body: sent.body,
    date_created: date,
    date_sent: null,
    date_updated: date,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: sent.from,
    messaging_service_sid: sent.messagingServiceSid,
    num_media: '0',
    num_segments: String(segmentsOf(sent.body)),
    price: null,
    price_unit: 'USD',
    sid: sent.sid,
    // A Messaging Service picks the number later: Twilio says "accepted" until it has.
    status: sent.from === null ? 'accepted' : 'queued',
    subresource_uris: { media: `${uri}/Media.json` },
    to: sent.to,
    uri: `${uri}.json`,
  };
}

/**
 * How many SMS segments a body takes, roughly as Twilio counts them: 160 characters (153 per
 * part once split) when printable ASCII suffices, 70 (67) UTF-16 units otherwise.
 */
export function segmentsOf(body: string): number {
  const gsm = /^[\x20-\x7e\n\r]*$/.test(body);
  const [single, part] = gsm ? [160, 153] : [70, 67];
  return body.length <= single ? 1 : Math.ceil(body.length / part);
}
