import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors/app-error.ts';
import { parseMultipart, type MultipartLimits } from './multipart.ts';
import { TINY_JPEG, TINY_PNG } from './test-images.ts';
import { startLocalServer, type LocalServer } from './test-server.ts';

const limits: MultipartLimits = { maxFileBytes: 1_000, maxFiles: 3, maxFieldBytes: 100 };

/** Parses every request it gets and answers with the result, or the AppError it raised. */
let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer((request, response) => {
    parseMultipart(request, limits).then(
      ({ fields, files }) => {
        const summary = files.map((file) => ({ ...file, data: file.data.toString('base64') }));
        response.end(JSON.stringify({ fields, files: summary }));
      },
      (error: unknown) => {
        const appError = error as AppError;
        expect(appError).toBeInstanceOf(AppError);
        response
          .writeHead(appError.status)
          .end(JSON.stringify({ code: appError.code, message: appError.message }));
      },
    );
  });
});
afterAll(async () => {
  await server.close();
});

async function post(body: string | ArrayBuffer | FormData, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.origin}/`, { method: 'POST', body, headers });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function form(entries: [string, string | Blob, string?][]): FormData {
  const data = new FormData();
  for (const [name, value, filename] of entries) {
    if (typeof value === 'string') data.append(name, value);
    else data.append(name, value, filename);
  }
  return data;
}

describe('parseMultipart', () => {
  it('reads fields, repeated fields and files from a real multipart body', async () => {
    const body = form([
      ['session_id', 'abc'],
      ['group_ids', 'g1'],
      ['group_ids', 'g2'],
      ['text', 'héllo wörld'],
      ['media', new Blob([TINY_PNG], { type: 'image/png' }), 'fötö 1.png'],
      ['media', new Blob([TINY_JPEG], { type: 'image/jpeg' }), 'b.jpg'],
    ]);
    // Built the way a browser or SDK builds it, to check the exact bytes on the wire.
    const request = new Request('http://localhost/', { method: 'POST', body });
    expect(request.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const { status, body: parsed } = await post(await request.arrayBuffer(), {
      'content-type': request.headers.get('content-type')!,
    });
    expect(status).toBe(200);
    expect(parsed).toEqual({
      fields: { session_id: ['abc'], group_ids: ['g1', 'g2'], text: ['héllo wörld'] },
      files: [
        {
          fieldName: 'media',
          filename: 'fötö 1.png',
          mimetype: 'image/png',
          data: TINY_PNG.toString('base64'),
        },
        {
          fieldName: 'media',
          filename: 'b.jpg',
          mimetype: 'image/jpeg',
          data: TINY_JPEG.toString('base64'),
        },
      ],
    });
  });

  it('accepts a file and a field exactly at their size limits', async () => {
    const { status, body } = await post(
      form([
        ['text', 'y'.repeat(100)],
        ['media', new Blob([Buffer.alloc(1_000, 1)]), 'x'],
      ]),
    );
    expect(status).toBe(200);
    expect(body.fields).toEqual({ text: ['y'.repeat(100)] });
    expect(body.files).toEqual([
      expect.objectContaining({ data: Buffer.alloc(1_000, 1).toString('base64') }),
    ]);
  });

  it('refuses a file over the size limit, naming it', async () => {
    const big = new Blob([Buffer.alloc(5_000)], { type: 'image/png' });
    const { status, body } = await post(form([['media', big, 'huge.png']]));
    expect(status).toBe(413);
    expect(body).toEqual({
      code: 'payload_too_large',
      message: 'File "huge.png" is larger than 1000 bytes.',
    });
  });

  it('refuses more files than allowed, saying the limit', async () => {
    const files = Array.from({ length: 4 }, (_, i): [string, Blob, string] => [
      'media',
      new Blob([TINY_PNG]),
      `${i}.png`,
    ]);
    const { status, body } = await post(form(files));
    expect(status).toBe(413);
    expect(body.message).toBe('At most 3 files may be uploaded.');
  });

  it('refuses an oversized field, naming it', async () => {
    const { status, body } = await post(form([['text', 'x'.repeat(101)]]));
    expect(status).toBe(413);
    expect(body.message).toBe('Field "text" is larger than 100 bytes.');
  });

  it('refuses a malformed body as a validation failure', async () => {
    const truncated = '--b\r\ncontent-disposition: form-data; name="a"\r\n\r\nvalue';
    const cut = await post(truncated, { 'content-type': 'multipart/form-data; boundary=b' });
    expect(cut).toEqual({
      status: 400,
      body: { code: 'validation_failed', message: expect.stringContaining('malformed') as string },
    });
    const noBoundary = await post('whatever', { 'content-type': 'multipart/form-data' });
    expect(noBoundary.status).toBe(400);
    expect(noBoundary.body.code).toBe('validation_failed');
  });

  it('refuses a body that is not multipart', async () => {
    const { status, body } = await post('{}', { 'content-type': 'application/json' });
    expect(status).toBe(415);
    expect(body.code).toBe('unsupported_media_type');
  });
});
