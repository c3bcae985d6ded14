import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from './loopback-http.ts';

/** One call a receiver got, as it arrived. */
export interface ReceivedCall {
  path: string;
  headers: IncomingHttpHeaders;
  /** The exact bytes of the body, as a signature check needs them. */
  rawBody: Buffer;
  /** The body parsed as JSON. */
  body: { id: string; type: string; send_id?: string; [field: string]: unknown };
  receivedAt: number;
}

/**
 * What the receiver does with call number `n` (1-based): answer a status (now, or `afterMs`
 * later), or never answer.
 */
export type ReceiverBehaviour = (
  call: ReceivedCall,
  n: number,
) => number | { status: number; afterMs: number } | 'hang';

/** A webhook endpoint on 127.0.0.1 that records every call it gets. */
export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/hook` */
  url: string;
  port: number;
  calls: ReceivedCall[];
  /** Calls still waiting for an answer (`hang`). */
  hanging(): number;
  close(): Promise<void>;
}

/** Starts a receiver; by default it answers every call 204. */
export async function startWebhookReceiver(
  behaviour: ReceiverBehaviour = () => 204,
): Promise<WebhookReceiver> {
  const calls: ReceivedCall[] = [];
  const waiting = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const call: ReceivedCall = {
        path: request.url ?? '',
        headers: request.headers,
        rawBody,
        body: JSON.parse(rawBody.toString('utf8')) as ReceivedCall['body'],
        receivedAt: Date.now(),
      };
      calls.push(call);
      const answer = behaviour(call, calls.length);
      if (answer === 'hang') {
        waiting.add(response);
        response.on('close', () => waiting.delete(response));
        return;
      }
      if (typeof answer === 'number') response.writeHead(answer).end();
      else setTimeout(() => response.writeHead(answer.status).end(), answer.afterMs);
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    calls,
    hanging: () => waiting.size,
    close: () => closeServer(server),
  };
}
