import http, { type IncomingHttpHeaders } from 'node:http';

export interface RawRequest {
  method: string;
  /** Path and query string, sent exactly as given (no normalisation, no escaping). */
  target: string;
  headers?: Readonly<Record<string, string>>;
  /** Sent with a Content-Length; GET and DELETE may carry one too. */
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
}

/** The server did not answer within the time allowed: a hang. */
export class HangError extends Error {
  override readonly name = 'HangError';
}

/**
 * One HTTP request with node:http rather than fetch, so a test can send what fetch refuses or
 * rewrites: a body on a GET, raw bytes, an unescaped or unnormalised path. Rejects with
 * `HangError` when no full answer came within `timeoutMs`.
 */
export function rawRequest(
  baseUrl: string,
  request: RawRequest,
  options: { timeoutMs: number; agent?: http.Agent },
): Promise<RawResponse> {
  const base = new URL(baseUrl);
  // Node frames a GET or DELETE body only when told its length.
  const headers =
    request.body === undefined
      ? request.headers
      : { 'Content-Length': String(Buffer.byteLength(request.body)), ...request.headers };
  return new Promise((resolve, reject) => {
    const outgoing = http.request({
      host: base.hostname,
      port: base.port,
      method: request.method,
      path: request.target,
      headers,
      agent: options.agent,
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(
        new HangError(
          `${request.method} ${request.target.slice(0, 200)} gave no answer within ` +
            `${options.timeoutMs} ms`,
        ),
      );
    }, options.timeoutMs);
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          status: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body,
          text: body.toString('utf8'),
        });
      });
      incoming.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.end(request.body);
  });
}
