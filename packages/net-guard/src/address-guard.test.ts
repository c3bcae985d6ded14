import { describe, expect, it } from 'vitest';
import {
  AddressGuardError,
  isLocalhostName,
  parseGuardedUrl,
  pinnedLookup,
  refusedRange,
  resolveCheckedAddresses,
} from './address-guard.ts';

/**
 * The address guard shared by the media fetcher (services/api) and webhook calls
 * (services/dispatcher). The API's SSRF suite covers it in depth through the media fetcher.
 */
async function refusal(url: string, options: Parameters<typeof resolveCheckedAddresses>[2]) {
  return resolveCheckedAddresses(new URL(url), url, options).then(
    () => undefined,
    (error: unknown) => {
      expect(error).toBeInstanceOf(AddressGuardError);
      return error as AddressGuardError;
    },
  );
}

describe('address guard', () => {
  it('names the reserved range of an address, and nothing for a public one', () => {
    expect(refusedRange('127.0.0.1')).toBe('loopback');
    expect(refusedRange('169.254.169.254')).toBe('linkLocal');
    expect(refusedRange('100.64.0.1')).toBe('carrierGradeNat');
    expect(refusedRange('::ffff:10.0.0.1')).toBe('private');
    expect(refusedRange('::a00:1')).toBe('ipv4Compatible');
    expect(refusedRange('93.184.216.34')).toBeUndefined();
    expect(refusedRange('2606:4700::6810:84e5')).toBeUndefined();
  });

  it('accepts https only, unless http is allowed', () => {
    expect(() => parseGuardedUrl('http://example.com/', {})).toThrow(/not an https URL/);
    expect(parseGuardedUrl('http://example.com/', { allowHttp: true }).protocol).toBe('http:');
    expect(() => parseGuardedUrl('nope', { allowHttp: true })).toThrow(/not a valid URL/);
  });

  it('checks every address a name resolves to, and keeps the address out of the message', async () => {
    const resolve = () => Promise.resolve(['93.184.216.34', '10.0.0.7']);
    const error = await refusal('https://hooks.test/', { resolve });
    expect(error?.reason).toBe('private_address');
    expect(error?.address).toBe('10.0.0.7');
    expect(error?.detail).not.toContain('10.0.0.7');
    const fine = await resolveCheckedAddresses(new URL('https://hooks.test/'), 'x', {
      resolve: () => Promise.resolve(['93.184.216.34']),
    });
    expect(fine).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });

  it('refuses localhost names whatever DNS says, unless allow-listed', async () => {
    expect(isLocalhostName('api.localhost.')).toBe(true);
    const resolve = () => Promise.resolve(['93.184.216.34']);
    expect((await refusal('https://localhost/', { resolve }))?.reason).toBe('private_address');
    expect(await refusal('https://localhost/', { resolve, allowHosts: ['LOCALHOST'] })).toBe(
      undefined,
    );
    expect(
      (await refusal('https://x.test/', { resolve: () => Promise.reject(new Error('no')) }))
        ?.reason,
    ).toBe('dns_failed');
  });

  it('pins a lookup to the checked addresses and refuses any other name', () => {
    const lookup = pinnedLookup('hooks.test', [{ address: '93.184.216.34', family: 4 }]);
    const answers: unknown[] = [];
    lookup('hooks.test', {}, (error, address) => answers.push([error, address]));
    lookup('hooks.test', { all: true }, (error, addresses) => answers.push([error, addresses]));
    lookup('other.test', {}, (error) => answers.push(error?.message));
    expect(answers).toEqual([
      [null, '93.184.216.34'],
      [null, [{ address: '93.184.216.34', family: 4 }]],
      'unexpected lookup of other.test',
    ]);
  });
});
