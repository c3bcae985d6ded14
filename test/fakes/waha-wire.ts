/* What WAHA's requests and answers look like, for the fake server in `waha-server.ts`. */
import { STATUS_CODES } from 'node:http';

/** A WAHA session's status, as WAHA names it. Only WORKING sessions send. */
export type WahaSessionStatus = 'STOPPED' | 'STARTING' | 'SCAN_QR_CODE' | 'WORKING' | 'FAILED';

/**
 * The engine whose answer shape the fake imitates for a sent message:
 * - `WEBJS` (WAHA's default): whatsapp-web.js's message, `id: { fromMe, remote, id, _serialized }`;
 * - `NOWEB`: Baileys's message, `key: { remoteJid, fromMe, id }` (the short id only);
 * - `GOWS`: `{ id: "<serialized id>", _data }`, the `WAMessage` shape of WAHA's OpenAPI.
 */
export type WahaEngine = 'WEBJS' | 'NOWEB' | 'GOWS';

export type WahaSendEndpoint = 'sendText' | 'sendImage';

/** A message the fake accepted ("sent to WhatsApp"). */
export interface WahaSentMessage {
  /** The serialized id, `true_<chatId>_<shortId>`, as WEBJS and GOWS answer it. */
  id: string;
  /** The bare id, as NOWEB answers it (`key.id`). */
  shortId: string;
  endpoint: WahaSendEndpoint;
  session: string;
  chatId: string;
  text?: string;
  caption?: string;
  file?: { url?: string; data?: string; mimetype?: string; filename?: string };
}

const ME = '15550001111@c.us';

export interface SendBody {
  session: string;
  chatId: string;
  text?: string;
  caption?: string;
  file?: { url?: string; data?: string; mimetype?: string; filename?: string };
}

export function endpointOf(method: string, path: string): WahaSendEndpoint | undefined {
  if (method !== 'POST') return undefined;
  const pathname = path.split('?')[0];
  if (pathname === '/api/sendText') return 'sendText';
  if (pathname === '/api/sendImage') return 'sendImage';
  return undefined;
}

/** class-validator's messages for the fields WAHA requires. */
export function validate(endpoint: WahaSendEndpoint, body: unknown): string[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return ['body must be an object'];
  }
  const fields = body as Record<string, unknown>;
  const problems: string[] = [];
  const requireString = (name: string, value: unknown) => {
    if (typeof value !== 'string' || value === '') problems.push(`${name} must be a string`);
  };
  requireString('session', fields.session);
  requireString('chatId', fields.chatId);
  if (endpoint === 'sendText') {
    requireString('text', fields.text);
    return problems;
  }
  if (fields.caption !== undefined && typeof fields.caption !== 'string') {
    problems.push('caption must be a string');
  }
  const file = fields.file;
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    problems.push('file must be an object');
    return problems;
  }
  const { url, data, mimetype, filename } = file as Record<string, unknown>;
  if (typeof url !== 'string' && typeof data !== 'string') {
    problems.push('file.url or file.data must be a string');
  }
  if (typeof url === 'string' && !/^https?:\/\//.test(url)) problems.push('file.url must be a URL');
  requireString('file.mimetype', mimetype);
  if (filename !== undefined && typeof filename !== 'string') {
    problems.push('file.filename must be a string');
  }
  return problems;
}

export function sentAnswer(engine: WahaEngine, sent: WahaSentMessage): unknown {
  const timestamp = Math.floor(Date.now() / 1000);
  const body = sent.text ?? sent.caption ?? '';
  switch (engine) {
    case 'WEBJS':
      return {
        id: { fromMe: true, remote: sent.chatId, id: sent.shortId, _serialized: sent.id },
        ack: 0,
        hasMedia: sent.endpoint === 'sendImage',
        body,
        type: sent.endpoint === 'sendImage' ? 'image' : 'chat',
        timestamp,
        from: ME,
        to: sent.chatId,
        fromMe: true,
      };
    case 'NOWEB':
      return {
        key: {
          remoteJid: sent.chatId.replace(/@c\.us$/, '@s.whatsapp.net'),
          fromMe: true,
          id: sent.shortId,
        },
        message:
          sent.endpoint === 'sendImage'
            ? { imageMessage: { caption: sent.caption, mimetype: sent.file?.mimetype } }
            : { extendedTextMessage: { text: sent.text } },
        messageTimestamp: String(timestamp),
        status: 'PENDING',
      };
    case 'GOWS':
      return { id: sent.id, _data: { Info: { ID: sent.shortId, Chat: sent.chatId } } };
  }
}

/** NestJS's HttpException body, which WAHA passes through. */
export function nestError(status: number, message: string | string[]): unknown {
  return { statusCode: status, message, error: STATUS_CODES[status] ?? 'Error' };
}

/** What WAHA's exception filter answers for an unexpected error. */
export function wahaCrash(
  status: number,
  message: string,
  call: { path: string; method: string; body: unknown },
): unknown {
  return {
    statusCode: status,
    timestamp: new Date().toISOString(),
    exception: { message, name: 'Error' },
    request: { path: call.path, method: call.method, body: call.body, query: {} },
    version: { version: '2025.1.1', engine: 'WEBJS', tier: 'CORE' },
  };
}

export function sessionNotReady(session: string, status: WahaSessionStatus): unknown {
  return {
    error: 'Session status is not as expected. Try again later or restart the session',
    session,
    status,
    expected: ['WORKING'],
  };
}
