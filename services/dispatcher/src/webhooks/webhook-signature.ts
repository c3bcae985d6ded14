import { createHmac } from 'node:crypto';

/** The header that carries a webhook call's signature. */
export const SIGNATURE_HEADER = 'Outbound-Signature';

/**
 * `Outbound-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, Stripe-style: the HMAC is keyed
 * with the endpoint's secret (the whole `whsec_…` string, UTF-8) over `<t>.<raw body>`, so a
 * receiver can check the body came from Outbound and refuse replays older than its tolerance.
 * Each attempt is signed anew with its own time.
 */
export function webhookSignature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}
