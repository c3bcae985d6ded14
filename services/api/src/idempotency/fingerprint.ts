import { createHash } from 'node:crypto';

/**
 * JSON with every object's keys sorted and `undefined` members dropped, so two requests that
 * differ only in field order (or in how a form spelt them) read the same. Array order is kept:
 * it is part of the request.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = sortKeys(member);
  }
  return sorted;
}

/** sha256 (hex) of the canonical request in its scope: what an idempotency key is bound to. */
export function requestFingerprint(scope: string, request: unknown): string {
  return sha256Hex(canonicalJson({ scope, request }));
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
