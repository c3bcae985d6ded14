import { lookup } from 'node:dns/promises';
import type { Config } from '@outbound/config';
import { withTimeout } from '@outbound/domain';
import {
  AddressGuardError,
  type AddressGuardOptions,
  parseGuardedUrl,
  resolveCheckedAddresses,
} from '@outbound/net-guard';
import { validationFailed } from '../routing/validate-input.ts';

/** The settings the webhook URL check reads. */
export type WebhookUrlConfig = Pick<Config, 'WEBHOOK_ALLOW_HOSTS' | 'WEBHOOK_ALLOW_HTTP'>;

/** How long saving waits for DNS before leaving the address check to the calls. */
const SAVE_LOOKUP_TIMEOUT_MS = 2_000;

/**
 * Checks a webhook URL when it is saved, by the rules every call to it follows (DESIGN §7,
 * the media URL guard from `@outbound/net-guard`): https only (http too with
 * WEBHOOK_ALLOW_HTTP); no credentials in the URL; the host not a `localhost` name and not an
 * address in a loopback, private, link-local, CGNAT, metadata, IPv4-mapped or other reserved
 * range, an IP literal as written (in any spelling the URL parser normalises) and a name by
 * every address it resolves to, unless allow-listed (WEBHOOK_ALLOW_HOSTS). A name that does
 * not resolve (yet), or not within 2 s, is accepted: each call resolves and checks it again.
 * Throws `validation_failed` naming `body.url` (the message names no resolved address).
 */
export async function checkWebhookUrl(
  url: string,
  config: WebhookUrlConfig,
  resolve?: AddressGuardOptions['resolve'],
): Promise<void> {
  const options: AddressGuardOptions = {
    allowHosts: config.WEBHOOK_ALLOW_HOSTS,
    allowHttp: config.WEBHOOK_ALLOW_HTTP,
    resolve: (hostname) =>
      withTimeout((resolve ?? lookupAll)(hostname), SAVE_LOOKUP_TIMEOUT_MS, 'lookup timed out'),
  };
  const parsed = URL.parse(url);
  if (parsed !== null && (parsed.username !== '' || parsed.password !== '')) {
    throw refused('credentials_in_url', 'must not contain a user name or password');
  }
  try {
    await resolveCheckedAddresses(parseGuardedUrl(url, options), url, options);
  } catch (error) {
    if (!(error instanceof AddressGuardError)) throw error;
    if (error.reason === 'dns_failed') return;
    throw refused(error.reason, error.detail);
  }
}

function refused(code: string, message: string) {
  return validationFailed([{ location: 'body', path: 'url', code, message }]);
}

async function lookupAll(hostname: string): Promise<string[]> {
  const addresses = await lookup(hostname, { all: true, verbatim: true });
  return addresses.map((entry) => entry.address);
}
