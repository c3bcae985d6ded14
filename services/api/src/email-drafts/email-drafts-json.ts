import express, { type RequestHandler } from 'express';
import type { Config } from '@outbound/config';

const UNITS = { b: 1, kb: 1024, mb: 1024 * 1024 } as const;

/** `JSON_BODY_LIMIT` (`512kb`, `1mb`, …) in bytes, as body-parser reads it. */
function bytesOf(limit: string): number {
  const match = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (match === null) throw new Error(`not a size: ${limit}`);
  return Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase() as keyof typeof UNITS];
}

/**
 * The JSON body limit of `POST /api/email/drafts`: the base64 of `EMAIL_MAX_ATTACHMENT_BYTES`
 * on top of the usual `JSON_BODY_LIMIT` for everything else. Attachments over the limit but
 * under this get the route's own, more precise 413.
 */
function emailDraftsJsonLimit(
  config: Pick<Config, 'EMAIL_MAX_ATTACHMENT_BYTES' | 'JSON_BODY_LIMIT'>,
): number {
  return Math.ceil(config.EMAIL_MAX_ATTACHMENT_BYTES / 3) * 4 + bytesOf(config.JSON_BODY_LIMIT);
}

/**
 * The JSON parser of `POST /api/email/drafts` (the only route that takes files as base64), to
 * mount at that path before the app's own parser: body-parser leaves an already-parsed body
 * alone, so every other route keeps `JSON_BODY_LIMIT`.
 */
export function emailDraftsJsonParser(
  config: Pick<Config, 'EMAIL_MAX_ATTACHMENT_BYTES' | 'JSON_BODY_LIMIT'>,
): RequestHandler {
  const parse = express.json({ limit: emailDraftsJsonLimit(config) });
  return (req, res, next) => {
    if (req.method === 'POST' && req.path === '/') {
      parse(req, res, next);
      return;
    }
    next();
  };
}
