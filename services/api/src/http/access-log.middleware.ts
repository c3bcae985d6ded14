import type { RequestHandler, Response } from 'express';
import type { Logger } from '@outbound/config';
import { pinoHttp } from 'pino-http';
import { findPrincipal } from '../auth/principal.ts';
import { getRequestId } from './request-id.middleware.ts';

interface SerializedRequest {
  id: unknown;
  method: string;
  url: string;
  remoteAddress?: string;
}

/** Query parameters whose values are credentials (a media URL's `sig`, keys sent by mistake). */
const SECRET_PARAMS = /^(api[-_]?key|key|token|access[-_]?token|sig|signature|secret|password)$/i;
/** An Outbound API key (`ob_<prefix>_<secret>`), wherever a caller put it in the URL. */
const API_KEY = /ob_[a-z0-9]{12}_[A-Za-z0-9_-]{32}/g;
const REDACTED = '[redacted]';

/** `text` with every Outbound API key in it replaced, for URLs echoed in logs or errors. */
export function redactApiKeys(text: string): string {
  return text.replace(API_KEY, REDACTED);
}

/** The URL as logged: API keys and credential-bearing query values replaced. */
function redactUrl(url: string): string {
  const withoutKeys = redactApiKeys(url);
  const queryAt = withoutKeys.indexOf('?');
  if (queryAt < 0) return withoutKeys;
  const params = new URLSearchParams(withoutKeys.slice(queryAt + 1));
  let redacted = false;
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAMS.test(name)) {
      params.set(name, REDACTED);
      redacted = true;
    }
  }
  return redacted ? `${withoutKeys.slice(0, queryAt)}?${params.toString()}` : withoutKeys;
}

/**
 * One access-log line per request, carrying the request id and, once authenticated, the
 * organization. Requests are logged without headers, and URLs without API keys or credential
 * query values (`redactUrl`), so API keys cannot reach the logs.
 */
export function accessLog(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'request_id' },
    genReqId: (_req, res) => getRequestId(res as Response),
    customProps: (_req, res) => {
      const principal = findPrincipal(res as Response);
      return principal === undefined
        ? {}
        : { organization_id: principal.organizationId, api_key_id: principal.apiKeyId };
    },
    customLogLevel: (_req, res, error) => {
      if (error !== undefined || res.statusCode >= 500) return 'error';
      return res.statusCode >= 400 ? 'warn' : 'info';
    },
    serializers: {
      req: (req: SerializedRequest) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
