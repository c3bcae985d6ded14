import type { z } from 'zod';
import { validationFailed } from './validate-input.ts';

/**
 * The list routes' cursors: base64url-encoded JSON that each route shapes with its own zod
 * schema (where the page ended, and the filters it was made for). Opaque to callers.
 */
export function encodeCursor(payload: unknown): string {
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The cursor's payload; 400 `invalid_cursor` on `cursor` when this API did not make it. */
export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> {
  const parsed = schema.safeParse(readJson(cursor));
  if (!parsed.success) throw invalidCursor();
  return parsed.data;
}

/** 400 `invalid_cursor` on `cursor`: one this API did not give out. */
export function invalidCursor(): Error {
  return cursorError('invalid_cursor', 'cursor is not one this API returned');
}

/** 400 `cursor_mismatch` on `cursor`: it was made for a listing with other filters. */
export function cursorMismatch(message: string): Error {
  return cursorError('cursor_mismatch', message);
}

function readJson(cursor: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function cursorError(code: string, message: string): Error {
  return validationFailed([{ location: 'query', path: 'cursor', code, message }]);
}
