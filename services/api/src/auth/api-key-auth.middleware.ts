import type { RequestHandler } from 'express';
import { authenticateApiKey, type Db } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import { setPrincipal } from './principal.ts';

const BEARER = /^Bearer +(\S+) *$/i;

type Presented = { kind: 'missing' } | { kind: 'malformed' } | { kind: 'key'; key: string };

/**
 * Authenticates `Authorization: Bearer <key>` or `X-API-Key: <key>` (Authorization wins when
 * both are sent) and attaches the key's principal. Missing, malformed, unknown and revoked keys
 * all answer 401 `unauthorized`; unknown and revoked get the same message, so a caller cannot
 * probe which keys exist.
 */
export function apiKeyAuth(db: Db): RequestHandler {
  return async (req, res, next) => {
    const presented = presentedKey(req.get('authorization'), req.get('x-api-key'));
    switch (presented.kind) {
      case 'missing':
        throw AppError.of(
          'unauthorized',
          'Missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
          { reason: 'missing' },
        );
      case 'malformed':
        throw AppError.of(
          'unauthorized',
          'Malformed Authorization header: expected "Bearer <key>"',
          { reason: 'malformed' },
        );
      case 'key': {
        const authenticated = await authenticateApiKey(db, presented.key);
        if (authenticated === undefined) {
          throw AppError.of('unauthorized', 'Invalid or revoked API key', { reason: 'invalid' });
        }
        setPrincipal(res, authenticated);
        next();
      }
    }
  };
}

function presentedKey(
  authorization: string | undefined,
  apiKeyHeader: string | undefined,
): Presented {
  if (authorization !== undefined && authorization.trim() !== '') {
    const key = BEARER.exec(authorization)?.[1];
    return key === undefined ? { kind: 'malformed' } : { kind: 'key', key };
  }
  if (apiKeyHeader !== undefined && apiKeyHeader.trim() !== '') {
    return { kind: 'key', key: apiKeyHeader.trim() };
  }
  return { kind: 'missing' };
}
