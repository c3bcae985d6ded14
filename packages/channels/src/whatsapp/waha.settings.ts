import { z } from 'zod';

/**
 * A WAHA sender's settings, as stored on its `senders` row.
 * - `base_url`: where the WAHA server answers, e.g. `https://waha.internal:3000` (a path prefix
 *   such as `https://gateway.example/waha` is kept). No user info, query or fragment: fetch
 *   refuses the first, and the others would be silently dropped from every call.
 * - `session`: the WAHA session that sends, `default` unless said otherwise.
 */
export const wahaSettingsSchema = z.object({
  base_url: z.url({ protocol: /^https?$/ }).refine((value) => {
    const url = new URL(value);
    return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  }, 'an http(s) URL without user info, query or fragment'),
  session: z.string().trim().min(1).max(128).default('default'),
});
export type WahaSettings = z.infer<typeof wahaSettingsSchema>;

/**
 * A WAHA sender's credentials, once decrypted: the `X-Api-Key` of its server, when the server
 * has one (`WAHA_API_KEY`). A sender without credentials calls WAHA without the header.
 */
export const wahaCredentialsSchema = z
  .object({ api_key: z.string().min(1).optional() })
  .nullish()
  .transform((credentials) => credentials ?? {});
export type WahaCredentials = z.infer<typeof wahaCredentialsSchema>;
