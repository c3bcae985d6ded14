import { describe, expect, it } from 'vitest';
import { canonicalJson, requestFingerprint } from './fingerprint.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('keeps array order', () => {
    expect(canonicalJson([2, 1])).toBe('[2,1]');
  });
});

describe('requestFingerprint', () => {
  it('is the same for the same request in any field order', () => {
    expect(requestFingerprint('s', { a: 1, b: ['x', 'y'] })).toBe(
      requestFingerprint('s', { b: ['x', 'y'], a: 1 }),
    );
  });

  it('differs when a value, the array order or the scope differs', () => {
    const base = requestFingerprint('s', { a: 1, b: ['x', 'y'] });
    expect(requestFingerprint('s', { a: 2, b: ['x', 'y'] })).not.toBe(base);
    expect(requestFingerprint('s', { a: 1, b: ['y', 'x'] })).not.toBe(base);
    expect(requestFingerprint('t', { a: 1, b: ['x', 'y'] })).not.toBe(base);
  });
});
