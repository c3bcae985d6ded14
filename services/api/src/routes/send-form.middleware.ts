import type { RequestHandler, Response } from 'express';
import { parseMultipart, type UploadedFile } from '../media/multipart.ts';
import { validationFailed, type InputIssue } from '../routing/validate-input.ts';

const FILES_FIELD = 'files';
/** Fields that carry JSON in a form; an empty value means the field was left out. */
const JSON_FIELDS = new Set(['media', 'schedule']);
/** Fields that may repeat, one value per item. */
const LIST_FIELDS = new Set(['group_ids']);

const UPLOADED_FILES = 'uploadedFiles';

export interface SendFormLimits {
  maxFileBytes: number;
  maxFiles: number;
}

/**
 * For a `multipart/form-data` send: reads the form, turns its fields into the JSON body's shape
 * (so one schema validates both) and keeps the `files` for the handler. JSON requests pass
 * through untouched.
 */
export function sendForm(limits: SendFormLimits): RequestHandler {
  return async (req, res, next) => {
    if (req.is('multipart/form-data') !== 'multipart/form-data') {
      next();
      return;
    }
    const form = await parseMultipart(req, limits);
    const misplaced = form.files.filter((file) => file.fieldName !== FILES_FIELD);
    const issues: InputIssue[] = misplaced.map((file) => ({
      location: 'body',
      path: file.fieldName,
      code: 'unexpected_file',
      message: `files must be sent in the "${FILES_FIELD}" field`,
    }));
    const body = formToBody(form.fields, issues);
    if (issues.length > 0) throw validationFailed(issues);
    req.body = body;
    res.locals[UPLOADED_FILES] = form.files;
    next();
  };
}

/** The files `sendForm` read from a multipart request; none for a JSON request. */
export function uploadedFiles(res: Response): readonly UploadedFile[] {
  return (res.locals[UPLOADED_FILES] as UploadedFile[] | undefined) ?? [];
}

/**
 * Form fields → the JSON body. `group_ids` may repeat or hold one JSON array; `media` and
 * `schedule` hold JSON; every other field is a single string. Unknown fields are kept, so the
 * body schema refuses them by name as it does in JSON.
 */
function formToBody(
  fields: Readonly<Record<string, readonly string[]>>,
  issues: InputIssue[],
): Record<string, unknown> {
  const body: [string, unknown][] = [];
  for (const [name, values] of Object.entries(fields)) {
    if (name === FILES_FIELD) {
      issues.push(issue(name, 'unexpected_field', `"${FILES_FIELD}" must hold files, not text`));
    } else if (LIST_FIELDS.has(name)) {
      body.push([name, listValue(name, values, issues)]);
    } else if (values.length > 1) {
      issues.push(issue(name, 'repeated_field', `${name} was sent ${values.length} times`));
    } else if (JSON_FIELDS.has(name)) {
      const value = values[0] ?? '';
      if (value.trim() !== '') body.push([name, jsonValue(name, value, issues)]);
    } else {
      body.push([name, values[0]]);
    }
  }
  // Own properties even for __proto__, so the schema refuses it by name like any unknown field.
  return Object.fromEntries(body);
}

function listValue(name: string, values: readonly string[], issues: InputIssue[]): unknown {
  const only = values.length === 1 ? values[0]?.trim() : undefined;
  if (only?.startsWith('[') === true) return jsonValue(name, only, issues);
  return [...values];
}

function jsonValue(name: string, value: string, issues: InputIssue[]): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    issues.push(issue(name, 'invalid_json', `${name} must be valid JSON`));
    return undefined;
  }
}

function issue(path: string, code: string, message: string): InputIssue {
  return { location: 'body', path, code, message };
}
