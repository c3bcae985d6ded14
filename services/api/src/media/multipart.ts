import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { AppError } from '../errors/app-error.ts';

/** One file part of a multipart body, read whole into memory. */
export interface UploadedFile {
  /** The form field the file was sent under. */
  fieldName: string;
  /** As the client sent it (may be empty, may hold a path); sanitise before storing. */
  filename: string;
  /** As the client declared it; unverified. */
  mimetype: string;
  data: Buffer;
}

export interface MultipartLimits {
  maxFileBytes: number;
  maxFiles: number;
  /** Largest single field value; default 64 KiB. */
  maxFieldBytes?: number;
}

export interface ParsedMultipart {
  /** Every value of every non-file field, in order, under its name. */
  fields: Record<string, string[]>;
  files: UploadedFile[];
}

const DEFAULT_MAX_FIELD_BYTES = 64 * 1024;
const MAX_FIELDS = 1_000;

/**
 * Reads a `multipart/form-data` request body. Files are held in memory, so the limits bound
 * what one request can cost: `maxFiles × maxFileBytes` plus `MAX_FIELDS × maxFieldBytes`.
 *
 * Rejects with an AppError: `unsupported_media_type` when the body is not multipart,
 * `payload_too_large` for a file, field or count over its limit (naming it),
 * `validation_failed` for a malformed body. On rejection the rest of the body is drained
 * unread, so an error response can still be written.
 */
export function parseMultipart(
  req: IncomingMessage,
  limits: MultipartLimits,
): Promise<ParsedMultipart> {
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\b/i.test(contentType)) {
    return Promise.reject(
      AppError.of('unsupported_media_type', 'Expected a multipart/form-data body.'),
    );
  }
  const maxFieldBytes = limits.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      // busboy reports "truncated" on reaching its limit, not on passing it: one byte more
      // lets a file or field of exactly the allowed size through.
      limits: {
        fileSize: limits.maxFileBytes + 1,
        files: limits.maxFiles,
        fieldSize: maxFieldBytes + 1,
        fields: MAX_FIELDS,
      },
    });
  } catch (error) {
    return Promise.reject(malformed(error));
  }

  return new Promise((resolve, reject) => {
    // A Map, so a field named __proto__ or constructor is a field like any other.
    const fields = new Map<string, string[]>();
    const files: UploadedFile[] = [];
    let settled = false;
    const fail = (error: AppError): void => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      parser.removeAllListeners('close');
      parser.on('error', () => {});
      req.resume();
      reject(error);
    };

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) {
        fail(
          AppError.of(
            'payload_too_large',
            `Field "${name}" is larger than ${maxFieldBytes} bytes.`,
            { field: name, limit_bytes: maxFieldBytes },
          ),
        );
        return;
      }
      const values = fields.get(name) ?? [];
      values.push(value);
      fields.set(name, values);
    });
    parser.on('file', (fieldName, stream, info) => {
      const filename = info.filename ?? '';
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => {
        stream.resume();
        fail(
          AppError.of(
            'payload_too_large',
            `File "${filename}" is larger than ${limits.maxFileBytes} bytes.`,
            { field: fieldName, filename, limit_bytes: limits.maxFileBytes },
          ),
        );
      });
      stream.on('end', () => {
        files.push({ fieldName, filename, mimetype: info.mimeType, data: Buffer.concat(chunks) });
      });
    });
    parser.on('filesLimit', () => {
      fail(
        AppError.of('payload_too_large', `At most ${limits.maxFiles} files may be uploaded.`, {
          limit_files: limits.maxFiles,
        }),
      );
    });
    parser.on('fieldsLimit', () => {
      fail(
        AppError.of('payload_too_large', `At most ${MAX_FIELDS} form fields are accepted.`, {
          limit_fields: MAX_FIELDS,
        }),
      );
    });
    parser.on('error', (error) => fail(malformed(error)));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      resolve({ fields: Object.fromEntries(fields), files });
    });
    req.on('error', (error) => fail(malformed(error)));
    req.on('close', () => {
      if (!req.complete) fail(AppError.of('bad_request', 'The request body was cut off.'));
    });
    req.pipe(parser);
  });
}

function malformed(error: unknown): AppError {
  const reason = error instanceof Error ? error.message : 'unreadable';
  return AppError.of('validation_failed', `The multipart body is malformed: ${reason}.`, null, {
    cause: error,
  });
}
