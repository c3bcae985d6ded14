import { randomBytes } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { expect } from 'vitest';

/** A file of a sample email, with its bytes. */
export interface SampleAttachment {
  filename: string;
  contentType: string;
  data: Buffer;
}

/** An email with every part a draft can carry, to follow through a provider. */
export interface SampleEmail {
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  html: string;
  attachments: SampleAttachment[];
}

/** A 1×1 PNG. */
const PIXEL_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * Two To, one Cc and two Bcc addresses (under `tag`, so each test's are its own), a subject
 * beyond Latin-1 (4-byte characters included), text and HTML bodies with long non-ASCII lines,
 * and two attachments: random bytes and a PNG with a non-ASCII name.
 */
export function sampleEmail(tag: string): SampleEmail {
  const long = 'Grüße aus Köln — ünïcödé ✓ '.repeat(6).trim();
  return {
    to: [`ana.${tag}@example.net`, `bo.${tag}@example.org`],
    cc: [`cy.${tag}@example.net`],
    bcc: [`hidden.${tag}@example.org`, `also-hidden.${tag}@example.net`],
    subject: `Rechnung Nr. 42 — Grüße ✓ 日本語 🚀 (${tag})`,
    text: `Hallo Ana,\n\n${long}\n\n— Zoë 🚀`,
    html: `<p>Hallo <b>Ana</b>,</p><p>${long}</p><p>— Zoë 🚀</p>`,
    attachments: [
      {
        filename: 'payload.bin',
        contentType: 'application/octet-stream',
        data: randomBytes(6_000),
      },
      { filename: 'Übersicht ✓.png', contentType: 'image/png', data: PIXEL_PNG },
    ],
  };
}

/** The `POST /api/email/drafts` body that creates the sample as a draft of the account. */
export function sampleDraftRequest(
  sample: SampleEmail,
  accountId: string,
  plannedSendAt?: Date,
): Record<string, unknown> {
  return {
    from_account_id: accountId,
    to: sample.to,
    cc: sample.cc,
    bcc: sample.bcc,
    subject: sample.subject,
    body_text: sample.text,
    body_html: sample.html,
    attachments: sample.attachments.map((file) => ({
      filename: file.filename,
      content_type: file.contentType,
      data_base64: file.data.toString('base64'),
    })),
    ...(plannedSendAt === undefined ? {} : { planned_send_at: plannedSendAt.toISOString() }),
  };
}

const addresses = (field: AddressObject | AddressObject[] | undefined) =>
  [field ?? []].flat().flatMap((group) => group.value.map((entry) => entry.address));

/**
 * Parses what a recipient received and checks it is the sample from `from`: From, To, Cc,
 * subject, both bodies and every attachment byte for byte, and no Bcc header nor any Bcc
 * address anywhere in it.
 */
export async function expectReceivedSample(
  received: Buffer,
  sample: SampleEmail,
  from: string,
): Promise<ParsedMail> {
  const parsed = await simpleParser(received);
  expect(addresses(parsed.from)).toEqual([from]);
  expect(addresses(parsed.to)).toEqual(sample.to);
  expect(addresses(parsed.cc)).toEqual(sample.cc);
  expect(parsed.bcc).toBeUndefined();
  expect(parsed.headers.has('bcc')).toBe(false);
  const headerText = received.toString('latin1');
  expect(headerText).not.toMatch(/^bcc:/im);
  for (const hidden of sample.bcc) expect(headerText).not.toContain(hidden);
  expect(parsed.subject).toBe(sample.subject);
  expect(parsed.text).toBe(sample.text);
  expect(parsed.html).toBe(sample.html);
  expect(
    parsed.attachments.map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      size: file.content.length,
    })),
  ).toEqual(
    sample.attachments.map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      size: file.data.length,
    })),
  );
  for (const [index, file] of sample.attachments.entries()) {
    expect(parsed.attachments[index]!.content.equals(file.data)).toBe(true);
  }
  return parsed;
}
