import { z } from 'zod';

/**
 * How the connection is secured:
 * - `tls`: TLS from the first byte (implicit TLS, "SMTPS"), port 465 by default;
 * - `starttls`: plain connection upgraded with STARTTLS before anything else is said, port 587
 *   by default. A server that does not offer STARTTLS is refused: never downgraded;
 * - `none`: no TLS at all, port 25 by default, even if the server offers STARTTLS. Everything,
 *   credentials included, goes in the clear: only for a relay on a trusted network.
 */
export const smtpTlsModeSchema = z.enum(['tls', 'starttls', 'none']);
export type SmtpTlsMode = z.infer<typeof smtpTlsModeSchema>;

const DEFAULT_PORTS: Record<SmtpTlsMode, number> = { tls: 465, starttls: 587, none: 25 };

/**
 * An SMTP sender's settings, as stored on its `senders` row.
 * - `host`: the server's host name or IP address (no scheme, no port);
 * - `port`: by default the usual port of the `tls` mode;
 * - `tls`: see `smtpTlsModeSchema`; `starttls` unless said otherwise;
 * - `tls_ca`: PEM certificates to trust besides the system's, for a server whose certificate a
 *   private CA issued. The server's certificate is always verified, host name included.
 */
export const smtpSettingsSchema = z
  .object({
    host: z
      .string()
      .trim()
      .min(1)
      .max(253)
      .regex(/^(?:[\w-]+(?:\.[\w-]+)*\.?|[\da-f:]+)$/i, 'a host name or IP address'),
    port: z.int().min(1).max(65_535).optional(),
    tls: smtpTlsModeSchema.default('starttls'),
    tls_ca: z.string().includes('-----BEGIN CERTIFICATE-----').optional(),
  })
  .transform((settings) => ({ ...settings, port: settings.port ?? DEFAULT_PORTS[settings.tls] }));
export type SmtpSettings = z.infer<typeof smtpSettingsSchema>;

/**
 * An SMTP sender's credentials, once decrypted: the user and password it logs in with (AUTH
 * PLAIN or LOGIN, whichever the server offers). A sender without credentials does not log in
 * (a relay that trusts its network). The password never appears in an error message.
 */
export const smtpCredentialsSchema = z
  .object({ user: z.string().min(1), password: z.string().min(1) })
  .nullish()
  .transform((credentials) => credentials ?? undefined);
export type SmtpCredentials = z.infer<typeof smtpCredentialsSchema>;
