import type { RequestHandler, Response } from 'express';
import { newId } from '@outbound/domain';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/** What a caller's request id may look like to be echoed back; anything else is replaced. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const REQUEST_ID = 'requestId';

/**
 * Gives every request an id, echoed in `X-Request-Id`: the caller's when it is sane, else a new
 * UUIDv7. Runs first, so every answer (errors included) carries it.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const offered = req.get(REQUEST_ID_HEADER);
    const id = offered !== undefined && SANE_REQUEST_ID.test(offered) ? offered : newId();
    res.locals[REQUEST_ID] = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    next();
  };
}

/** The id `requestId()` gave this request. */
export function getRequestId(res: Response): string {
  const id: unknown = res.locals[REQUEST_ID];
  if (typeof id !== 'string') throw new Error('requestId() middleware did not run');
  return id;
}
