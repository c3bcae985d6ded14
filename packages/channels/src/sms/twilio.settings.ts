import { z } from 'zod';

/** Twilio's REST API root; `2010-04-01/...` paths are resolved against it. */
export const TWILIO_API_BASE_URL = 'https://api.twilio.com';

const e164 = z.string().regex(/^\+[1-9]\d{1,14}$/, 'an E.164 number such as +14155550100');
/** Twilio's resource ids: a two-letter prefix, then 32 hex digits. */
const sid = (prefix: 'AC' | 'MG' | 'SK') =>
  z.string().regex(new RegExp(`^${prefix}[0-9a-fA-F]{32}$`), `${prefix} and 32 hex digits`);

/**
 * A Twilio sender's settings, as stored on its `senders` row.
 * - `base_url`: Twilio's API root; a regional one (`https://api.dublin.ie1.twilio.com`) or a
 *   test double in its place. A path prefix is kept; no user info, query or fragment.
 * - `account_sid`: the account (or subaccount) the messages are sent from, `AC…`.
 * - exactly one of `from`, the account's number that sends (E.164), and
 *   `messaging_service_sid`, a Messaging Service (`MG…`) that picks the number from its pool.
 */
export const twilioSettingsSchema = z
  .object({
    base_url: z
      .url({ protocol: /^https?$/ })
      .refine((value) => {
        const url = new URL(value);
        return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
      }, 'an http(s) URL without user info, query or fragment')
      .default(TWILIO_API_BASE_URL),
    account_sid: sid('AC'),
    from: e164.optional(),
    messaging_service_sid: sid('MG').optional(),
  })
  .refine(
    (settings) => (settings.from === undefined) !== (settings.messaging_service_sid === undefined),
    { message: 'exactly one of from and messaging_service_sid' },
  );
export type TwilioSettings = z.infer<typeof twilioSettingsSchema>;

const authTokenSchema = z.object({ auth_token: z.string().min(1) });
const apiKeySchema = z.object({ api_key_sid: sid('SK'), api_key_secret: z.string().min(1) });

/**
 * A Twilio sender's credentials, once decrypted: the account's auth token, or an API key (its
 * `SK…` sid and secret) of the same account, which can be revoked on its own. Either signs the
 * requests with HTTP basic auth. None of them ever appears in an error message.
 */
export type TwilioCredentials = z.infer<typeof authTokenSchema> | z.infer<typeof apiKeySchema>;

/**
 * Checks stored credentials: `{ auth_token }` or `{ api_key_sid, api_key_secret }`, not both.
 * Issues name the fields at fault, so the registry can report them without their values.
 */
export const twilioCredentialsSchema = z
  .object({
    auth_token: z.unknown().optional(),
    api_key_sid: z.unknown().optional(),
    api_key_secret: z.unknown().optional(),
  })
  .transform((stored, ctx): TwilioCredentials => {
    const apiKey = stored.api_key_sid !== undefined || stored.api_key_secret !== undefined;
    if (apiKey && stored.auth_token !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth_token'],
        message: 'either auth_token or api_key_sid with api_key_secret, not both',
      });
      return z.NEVER;
    }
    const parsed = (apiKey ? apiKeySchema : authTokenSchema).safeParse(stored);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
    return z.NEVER;
  });
