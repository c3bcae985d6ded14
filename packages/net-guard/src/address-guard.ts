import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a caller-supplied URL may not be connected to. */
export type AddressGuardFailure = 'not_https' | 'private_address' | 'dns_failed';

/**
 * A URL refused by the address guard. `detail` says what is wrong in words safe to show the
 * caller who supplied the URL: it never holds a resolved address or a resolver error (those
 * stay on `address` and `cause`, for logs).
 */
export class AddressGuardError extends Error {
  override readonly name = 'AddressGuardError';
  readonly reason: AddressGuardFailure;
  readonly url: string;
  readonly detail: string;
  /** The refused address, for `private_address`. Not for clients. */
  readonly address: string | undefined;

  constructor(
    reason: AddressGuardFailure,
    url: string,
    detail: string,
    extra: { address?: string; cause?: unknown } = {},
  ) {
    super(`${url}: ${detail}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.reason = reason;
    this.url = url;
    this.detail = detail;
    this.address = extra.address;
  }
}

export interface AddressGuardOptions {
  /**
   * Hostnames (or IP literals) exempt from the address check, e.g. a trusted internal host or
   * a test's loopback server. Matched exactly, case-insensitively. The scheme check still applies.
   */
  allowHosts?: readonly string[];
  /** Accept `http:` URLs as well as `https:` (development and tests only). */
  allowHttp?: boolean;
  /** Resolves a hostname to every address it has. Defaults to the OS resolver (`dns.lookup`). */
  resolve?: (hostname: string) => Promise<string[]>;
}

/** Parses `url` and checks its scheme: `https:` only (and `http:` when `allowHttp`). */
export function parseGuardedUrl(url: string, options: Pick<AddressGuardOptions, 'allowHttp'>): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AddressGuardError('not_https', url, 'is not a valid URL');
  }
  const allowed = options.allowHttp === true ? ['https:', 'http:'] : ['https:'];
  if (!allowed.includes(parsed.protocol)) {
    throw new AddressGuardError('not_https', url, 'is not an https URL');
  }
  return parsed;
}

/**
 * The addresses of `target`'s host, each one checked, ready to pin a connection to (see
 * `pinnedLookup`). Guarantees: a `localhost` name is refused whatever a resolver says; an IP
 * literal is checked as it is; a name is resolved and every address it has must be globally
 * routable unicast (see `refusedRange`), unless the host is allow-listed. Throws
 * `AddressGuardError` (`private_address` or `dns_failed`) otherwise.
 */
export async function resolveCheckedAddresses(
  target: URL,
  url: string,
  options: AddressGuardOptions,
): Promise<LookupAddress[]> {
  const hostname = bareHostname(target);
  const allowListed = (options.allowHosts ?? []).some((host) => host.toLowerCase() === hostname);
  if (!allowListed && isLocalhostName(hostname)) {
    // RFC 6761: these are loopback whatever a resolver answers (or fails to answer) for them.
    throw new AddressGuardError(
      'private_address',
      url,
      `${hostname} is a loopback name, which is refused`,
    );
  }
  let addresses: string[];
  if (isIP(hostname) !== 0) {
    addresses = [hostname];
  } else {
    try {
      addresses = await (options.resolve ?? resolveWithOs)(hostname);
    } catch (error) {
      throw new AddressGuardError('dns_failed', url, `could not resolve ${hostname}`, {
        cause: error,
      });
    }
    if (addresses.length === 0) {
      throw new AddressGuardError('dns_failed', url, `${hostname} has no addresses`);
    }
  }
  return addresses.map((address) => {
    const family = isIP(address);
    if (family === 0) {
      throw new AddressGuardError('dns_failed', url, `${hostname} resolved to a non-address`);
    }
    const refused = allowListed ? undefined : refusedRange(address);
    if (refused !== undefined) {
      throw new AddressGuardError(
        'private_address',
        url,
        `${hostname} resolves to a private or reserved address (${refused}), which is refused`,
        { address },
      );
    }
    return { address, family };
  });
}

/**
 * A socket `lookup` that answers `hostname` with the checked `addresses` and never asks DNS
 * again, so a DNS answer that changes between check and connect changes nothing.
 */
export function pinnedLookup(
  hostname: string,
  addresses: readonly LookupAddress[],
): LookupFunction {
  return (name, lookupOptions, callback) => {
    if (name.toLowerCase() !== hostname) {
      callback(new Error(`unexpected lookup of ${name}`), '', 0);
    } else if (lookupOptions.all === true) {
      callback(null, [...addresses]);
    } else {
      const [first] = addresses;
      if (first === undefined) callback(new Error(`no checked address for ${name}`), '', 0);
      else callback(null, first.address, first.family);
    }
  };
}

/** `localhost`, `localhost.` or a name under `.localhost`: loopback by definition (RFC 6761). */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/** The URL's hostname in lower case, without the brackets of an IPv6 literal. */
export function bareHostname(target: URL): string {
  const host = target.hostname.toLowerCase();
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

async function resolveWithOs(hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((entry) => entry.address));
    });
  });
}

const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');

/**
 * The name of the special range an address falls in, or undefined when it is ordinary
 * globally routable unicast. Anything ipaddr.js does not call `unicast` is refused, which also
 * covers 6to4, Teredo and NAT64 forms that could wrap a private IPv4 address.
 */
export function refusedRange(address: string): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      parsed = v6.toIPv4Address();
    } else {
      const range = v6.range();
      if (range !== 'unicast') return range;
      // Deprecated IPv4-compatible addresses (::a.b.c.d); ipaddr.js calls them unicast.
      return v6.match(IPV4_COMPATIBLE) ? 'ipv4Compatible' : undefined;
    }
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}
