import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `ob_<prefix>_<secret>`. The prefix is stored in clear to find the row;
 * only a SHA-256 of the whole key is stored. Keys carry 192 random bits, so a fast hash is
 * enough: there is nothing to brute-force the way there is with a password.
 */
const KEY_PATTERN = /^ob_([a-z0-9]{12})_([A-Za-z0-9_-]{32})$/;

export interface GeneratedApiKey {
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[-_]/g, '0')
    .slice(0, 12);
  const secret = randomBytes(24).toString('base64url');
  const key = `ob_${prefix}_${secret}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** The lookup prefix of a well-formed key, or undefined for anything else. */
export function apiKeyPrefix(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const actual = Buffer.from(hashApiKey(key), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
