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

/**
 * One access-log line per request, carrying the request id and, once authenticated, the
 * organization. Requests are logged without headers, so API keys cannot reach the logs.
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
        url: req.url,
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
