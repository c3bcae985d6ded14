import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Config } from '@outbound/config';

/** The settings media URLs depend on. */
export type MediaUrlConfig = Pick<Config, 'PUBLIC_BASE_URL' | 'CREDENTIALS_ENCRYPTION_KEY'>;

const HKDF_INFO = 'outbound media urls';

/**
 * The URL a provider fetches a media object from: `{PUBLIC_BASE_URL}/media/{id}/{filename}`,
 * signed with `?sig=`, an HMAC-SHA256 of the id under a key derived (HKDF) from
 * CREDENTIALS_ENCRYPTION_KEY, so that only the service can mint one.
 *
 * The URL does not expire on purpose: providers fetch when they send, which may be minutes or
 * hours later (retries with backoff, rate-limited queues, schedules), and a URL that died first
 * would fail the delivery. It grants read access to exactly one object; revoking it means
 * deleting the object (or rotating the key, which revokes every URL). The filename segment is
 * cosmetic (providers show it) and is not signed.
 */
export function mediaUrl(
  config: MediaUrlConfig,
  media: { id: string; filename: string | null },
): string {
  const base = config.PUBLIC_BASE_URL.replace(/\/+$/, '');
  const name = encodeURIComponent(media.filename ?? 'file');
  return `${base}/media/${encodeURIComponent(media.id)}/${name}?sig=${sign(config, media.id)}`;
}

/** True when `sig` is the signature `mediaUrl` puts on `id`. Constant time in the signature. */
export function verifyMediaSignature(config: MediaUrlConfig, id: string, sig: string): boolean {
  const expected = Buffer.from(sign(config, id));
  const given = Buffer.from(sig);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function sign(config: MediaUrlConfig, id: string): string {
  return createHmac('sha256', signingKey(config)).update(id).digest('base64url');
}

function signingKey(config: MediaUrlConfig): Buffer {
  const secret = Buffer.from(config.CREDENTIALS_ENCRYPTION_KEY, 'base64');
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
}
