import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CredentialsCipher } from './credentials-cipher.ts';

describe('CredentialsCipher', () => {
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  it('round-trips credentials without leaving them readable', () => {
    const sealed = cipher.seal({ api_key: 'super-secret-value' });
    expect(sealed).not.toContain('super-secret-value');
    expect(cipher.open(sealed)).toEqual({ api_key: 'super-secret-value' });
    expect(cipher.seal({ a: 1 })).not.toBe(cipher.seal({ a: 1 }));
  });

  it('refuses tampered ciphertext and a different key', () => {
    const sealed = cipher.seal({ token: 't' });
    const parts = sealed.split('.');
    const tampered = [...parts.slice(0, 3), Buffer.from('garbage').toString('base64url')].join('.');
    expect(() => cipher.open(tampered)).toThrow();
    const other = new CredentialsCipher(randomBytes(32).toString('base64'));
    expect(() => other.open(sealed)).toThrow();
  });

  it('rejects keys of the wrong size', () => {
    expect(() => new CredentialsCipher(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
