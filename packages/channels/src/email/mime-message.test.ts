import { randomBytes, randomUUID } from 'node:crypto';
import { simpleParser, type AddressObject } from 'mailparser';
import { describe, expect, it } from 'vitest';
import {
  emailMessageSchema,
  EMAIL_ATTACHMENTS_MAX_BYTES,
  type MessageInputOf,
} from '../channel-adapter.ts';
import { composeEmail } from './mime-message.ts';

const pdf = randomBytes(5_000);
const csv = Buffer.from('Straße;Größe\nKöln;42\n', 'utf8');

const MESSAGE: MessageInputOf<'email'> = {
  channel: 'email',
  from: { address: 'jurgen@example.com', name: 'Jürgen Ölmann, "CEO"' },
  to: ['ana@example.net', 'bo@example.org'],
  cc: ['cy@example.net'],
  bcc: ['hidden@example.org'],
  replyTo: 'replies@example.com',
  subject: 'Grüße aus Köln — 🎉 Angebot',
  text: 'Hallo Ana,\nanbei das Angebot ✓',
  html: '<p>Hallo <b>Ana</b>, anbei das Angebot ✓</p>',
  attachments: [
    {
      filename: 'angebot.pdf',
      contentType: 'application/pdf',
      contentBase64: pdf.toString('base64'),
    },
    {
      filename: 'Übersicht März.csv',
      contentType: 'text/csv; charset=utf-8',
      contentBase64: csv.toString('base64'),
    },
  ],
};

const compose = (message: MessageInputOf<'email'>, bccHeader: 'keep' | 'omit' = 'omit') =>
  composeEmail(emailMessageSchema.parse(message), { bccHeader, deliveryId: randomUUID() });

const addresses = (field: AddressObject | AddressObject[] | undefined) =>
  [field ?? []].flat().flatMap((group) => group.value.map((entry) => entry.address));

describe('composeEmail', () => {
  it('round-trips through a MIME parser: addresses, UTF-8 subject and names, bodies, attachments', async () => {
    const { raw } = await compose(MESSAGE);
    const parsed = await simpleParser(raw);
    expect(parsed.from?.value).toEqual([
      { address: 'jurgen@example.com', name: 'Jürgen Ölmann, "CEO"' },
    ]);
    expect(addresses(parsed.to)).toEqual(['ana@example.net', 'bo@example.org']);
    expect(addresses(parsed.cc)).toEqual(['cy@example.net']);
    expect(addresses(parsed.replyTo)).toEqual(['replies@example.com']);
    expect(parsed.subject).toBe('Grüße aus Köln — 🎉 Angebot');
    expect(parsed.text).toBe('Hallo Ana,\nanbei das Angebot ✓');
    expect(parsed.html).toBe('<p>Hallo <b>Ana</b>, anbei das Angebot ✓</p>');
    expect(parsed.attachments.map((file) => [file.filename, file.contentType])).toEqual([
      ['angebot.pdf', 'application/pdf'],
      ['Übersicht März.csv', 'text/csv'],
    ]);
    expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
    expect(parsed.attachments[1]!.content.equals(csv)).toBe(true);
  });

  it('nests multipart/alternative in multipart/mixed, 7-bit clean with CRLF line ends', async () => {
    const { raw } = await compose(MESSAGE);
    const text = raw.toString('latin1');
    expect(text).toMatch(/^Content-Type: multipart\/mixed;/m);
    expect(text).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(raw.every((byte) => byte < 0x80)).toBe(true);
    expect(text.replaceAll('\r\n', '')).not.toContain('\n');
  });

  it('keeps text alone or html alone as a single part', async () => {
    const base: MessageInputOf<'email'> = {
      channel: 'email',
      from: { address: 'a@example.com' },
      to: ['b@example.com'],
    };
    const plain = await simpleParser((await compose({ ...base, text: 'just text' })).raw);
    expect(plain.headers.get('content-type')).toMatchObject({ value: 'text/plain' });
    const html = await simpleParser((await compose({ ...base, html: '<i>x</i>' })).raw);
    expect(html.headers.get('content-type')).toMatchObject({ value: 'text/html' });
  });

  it('leaves the Bcc header out for SMTP, but puts Bcc recipients in the envelope', async () => {
    const { raw, envelope } = await compose(MESSAGE, 'omit');
    expect(raw.toString('latin1')).not.toMatch(/^bcc:/im);
    expect((await simpleParser(raw)).bcc).toBeUndefined();
    expect(envelope).toEqual({
      from: 'jurgen@example.com',
      to: ['ana@example.net', 'bo@example.org', 'cy@example.net', 'hidden@example.org'],
    });
  });

  it('keeps the Bcc header for Gmail, which reads recipients from it', async () => {
    const { raw } = await compose(MESSAGE, 'keep');
    expect(addresses((await simpleParser(raw)).bcc)).toEqual(['hidden@example.org']);
  });

  it('derives the Message-ID from the delivery, so every attempt carries the same one', async () => {
    const deliveryId = randomUUID();
    const message = emailMessageSchema.parse(MESSAGE);
    const first = await composeEmail(message, { bccHeader: 'omit', deliveryId });
    const second = await composeEmail(message, { bccHeader: 'omit', deliveryId });
    expect(first.messageId).toBe(`<${deliveryId}@example.com>`);
    expect(second.messageId).toBe(first.messageId);
    expect((await simpleParser(first.raw)).messageId).toBe(first.messageId);
    const random = await composeEmail(message, { bccHeader: 'omit' });
    expect(random.messageId).toMatch(/^<[0-9a-f-]{36}@example\.com>$/);
    expect(random.messageId).not.toBe(first.messageId);
  });

  it('cannot be made to inject a header through the subject', async () => {
    const { raw } = await compose({
      ...MESSAGE,
      bcc: [],
      subject: 'Hello\r\nBcc: evil@example.org\r\nX-Injected: yes',
    });
    const parsed = await simpleParser(raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has('x-injected')).toBe(false);
    expect(parsed.subject).toContain('Bcc: evil@example.org');
  });
});

describe('email message schema', () => {
  const base = {
    channel: 'email',
    from: { address: 'a@example.com' },
    to: ['b@example.com'],
    subject: 'x',
  };
  const attachment = { filename: 'a.bin', contentType: 'application/octet-stream' };

  it('requires from', () => {
    expect(emailMessageSchema.safeParse({ ...base, from: undefined }).success).toBe(false);
    expect(emailMessageSchema.safeParse({ ...base, from: { address: 'nope' } }).success).toBe(
      false,
    );
    expect(
      emailMessageSchema.safeParse({ ...base, from: { address: 'a@example.com', name: 'A\r\nB' } })
        .success,
    ).toBe(false);
  });

  it.each([
    ['not base64', { ...attachment, contentBase64: 'not base64!' }],
    ['unpadded base64', { ...attachment, contentBase64: 'YWJj' + 'ZA' }],
    ['no MIME type', { ...attachment, contentType: 'pdf', contentBase64: 'YWJj' }],
    [
      'a MIME type with a line break',
      { ...attachment, contentType: 'text/plain\r\nX: y', contentBase64: 'YWJj' },
    ],
    ['no filename', { ...attachment, filename: '', contentBase64: 'YWJj' }],
  ])('refuses an attachment with %s', (_, file) => {
    expect(emailMessageSchema.safeParse({ ...base, attachments: [file] }).success).toBe(false);
  });

  it(`refuses attachments totalling more than ${EMAIL_ATTACHMENTS_MAX_BYTES} bytes`, () => {
    const half = Buffer.alloc(EMAIL_ATTACHMENTS_MAX_BYTES / 2).toString('base64');
    const file = { ...attachment, contentBase64: half };
    expect(emailMessageSchema.safeParse({ ...base, attachments: [file, file] }).success).toBe(true);
    const over = { ...attachment, contentBase64: Buffer.alloc(1).toString('base64') };
    const result = emailMessageSchema.safeParse({ ...base, attachments: [file, file, over] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['attachments']);
  });
});
