import { z } from 'zod';

/**
 * The kinds of record an opaque id can name. The kind travels inside the id, so a route can
 * tell a response-draft id from a message-draft id without a lookup and answer with a hint.
 */
export const opaqueIdKindSchema = z.enum(['message_draft', 'response_draft', 'agent']);
export type OpaqueIdKind = z.infer<typeof opaqueIdKindSchema>;

const PREFIX = 'ob_';
const TAGS: Record<OpaqueIdKind, string> = {
  message_draft: 'md',
  response_draft: 'rd',
  agent: 'ag',
};
const KIND_OF_TAG = new Map(Object.entries(TAGS).map(([kind, tag]) => [tag, kind as OpaqueIdKind]));

/** The record an opaque id names: its kind, and its id in the database (a uuid or an integer). */
export interface DecodedOpaqueId {
  kind: OpaqueIdKind;
  id: string;
}

/** `ob_` followed by base64url of `<tag>:<id>`: stable, URL-safe and not meant to be parsed. */
export function encodeOpaqueId(kind: OpaqueIdKind, id: string | number): string {
  return PREFIX + Buffer.from(`${TAGS[kind]}:${id}`, 'utf8').toString('base64url');
}

/** The kind and id an opaque id carries; undefined for anything that is not one. */
export function decodeOpaqueId(value: string): DecodedOpaqueId | undefined {
  if (!value.startsWith(PREFIX) || value.length > 120) return undefined;
  const body = value.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) return undefined;
  const text = Buffer.from(body, 'base64url').toString('utf8');
  // Only the canonical encoding is accepted, so one record has exactly one id.
  if (Buffer.from(text, 'utf8').toString('base64url') !== body) return undefined;
  const separator = text.indexOf(':');
  const kind = KIND_OF_TAG.get(text.slice(0, separator));
  const id = text.slice(separator + 1);
  if (separator < 0 || kind === undefined || id === '') return undefined;
  return { kind, id };
}
