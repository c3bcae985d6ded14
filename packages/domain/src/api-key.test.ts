import { describe, expect, it } from 'vitest';
import { apiKeyMatches, apiKeyPrefix, generateApiKey, hashApiKey } from './api-key.ts';

describe('api keys', () => {
  it('generates distinct keys whose prefix and hash match the key', () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a.key).not.toBe(b.key);
    expect(apiKeyPrefix(a.key)).toBe(a.prefix);
    expect(a.hash).toBe(hashApiKey(a.key));
    expect(a.hash).not.toContain(a.key);
    expect(apiKeyMatches(a.key, a.hash)).toBe(true);
    expect(apiKeyMatches(b.key, a.hash)).toBe(false);
  });

  it('finds no prefix in malformed keys', () => {
    expect(apiKeyPrefix('')).toBeUndefined();
    expect(apiKeyPrefix('Bearer something')).toBeUndefined();
    expect(apiKeyPrefix(`${generateApiKey().key}x`)).toBeUndefined();
  });
});
