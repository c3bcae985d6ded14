import { z } from 'zod';

/** Google's OAuth 2.0 token endpoint. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** The Gmail API's root; `gmail/v1/...` paths are resolved against it. */
export const GMAIL_API_BASE_URL = 'https://gmail.googleapis.com';

/** An http(s) URL without user info, query or fragment (fetch refuses the first). */
const endpointUrl = z.url({ protocol: /^https?$/ }).refine((value) => {
  const url = new URL(value);
  return url.username === '' && url.password === '' && url.search === '' && url.hash === '';
}, 'an http(s) URL without user info, query or fragment');

/**
 * A Gmail sender's settings, as stored on its `senders` row. Both default to Google's own
 * endpoints; they exist so tests (or a proxy) can stand in for Google.
 * - `token_url`: where refresh tokens are exchanged for access tokens;
 * - `api_base_url`: the Gmail API root, a path prefix is kept (`https://proxy.example/google`).
 */
export const gmailSettingsSchema = z.object({
  token_url: endpointUrl.default(GOOGLE_TOKEN_URL),
  api_base_url: endpointUrl.default(GMAIL_API_BASE_URL),
});
export type GmailSettings = z.infer<typeof gmailSettingsSchema>;

/**
 * A Gmail sender's credentials, once decrypted: the OAuth client the account authorised and the
 * refresh token it granted (with the `gmail.send` scope). None of them ever appears in a log
 * line or an error message.
 */
export const gmailCredentialsSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  refresh_token: z.string().min(1),
});
export type GmailCredentials = z.infer<typeof gmailCredentialsSchema>;
