import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.ts';

/** The one username and password that may open the admin pages. */
export interface AdminAuth {
  username: string;
  password: string;
}

const BASIC = /^Basic +([A-Za-z0-9+/=]+) *$/i;

/** HTTP basic auth against one set of credentials; compared in constant time. */
export function basicAuth(credentials: AdminAuth, realm: string): RequestHandler {
  const expected = digest(`${credentials.username}:${credentials.password}`);
  return (req, res, next) => {
    const encoded = BASIC.exec(req.get('authorization') ?? '')?.[1];
    const presented = encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8');
    if (!timingSafeEqual(digest(presented), expected)) {
      res.setHeader('WWW-Authenticate', `Basic realm="${realm}", charset="UTF-8"`);
      throw AppError.of('unauthorized', 'Admin credentials required');
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
