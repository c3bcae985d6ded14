import type { Request } from 'express';
import type { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import type { RequestSpec } from './route.ts';

type Location = 'params' | 'query' | 'body';

/** One bad field, as listed in a `validation_failed` error's `details.issues`. */
export interface InputIssue {
  location: Location;
  /** Dotted path inside the location (`recipients.0.phone`); empty for the whole location. */
  path: string;
  code: string;
  message: string;
}

export interface ParsedInput {
  params: unknown;
  query: unknown;
  body: unknown;
}

/** Parses every declared part of the request; throws `validation_failed` listing every bad field. */
export function validateInput(spec: RequestSpec, req: Request): ParsedInput {
  const issues: InputIssue[] = [];
  const parse = (location: Location, schema: z.ZodType | undefined, value: unknown): unknown => {
    if (schema === undefined) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      issues.push({
        location,
        path: issue.path.map(String).join('.'),
        code: issue.code,
        message: issue.message,
      });
    }
    return undefined;
  };
  const input = {
    params: parse('params', spec.params, req.params),
    query: parse('query', spec.query, req.query),
    body: parse('body', spec.body, req.body),
  };
  // A field its schema already refused is named once.
  const named = new Set(issues.map((issue) => `${issue.location}:${issue.path}`));
  issues.push(
    ...[
      ...unstorableIssues('params', req.params),
      ...unstorableIssues('query', req.query),
      ...unstorableIssues('body', req.body),
    ].filter((issue) => !named.has(`${issue.location}:${issue.path}`)),
  );
  if (issues.length > 0) throw validationFailed(issues);
  return input;
}

const MAX_ISSUES = 20;

/** A key path kept as a linked list, so walking a deep body does not copy paths. */
interface PathNode {
  key: string;
  parent: PathNode | undefined;
}

function joinPath(node: PathNode | undefined): string {
  const keys: string[] = [];
  for (let at = node; at !== undefined; at = at.parent) keys.push(at.key);
  return keys.reverse().join('.');
}

/** Why Postgres cannot store `text` (in text or jsonb), or undefined when it can. */
function unstorable(text: string): Pick<InputIssue, 'code' | 'message'> | undefined {
  if (text.includes('\u0000')) {
    return { code: 'nul_character', message: 'must not contain U+0000 (NUL)' };
  }
  if (!text.isWellFormed()) {
    return {
      code: 'unpaired_surrogate',
      message: 'must not contain an unpaired surrogate (\\ud800–\\udfff alone): not valid UTF-8',
    };
  }
  return undefined;
}

/**
 * Every string (value or key) that no Postgres text or jsonb column can store (holding U+0000
 * or an unpaired surrogate): refused for every route at once, whatever its schema says, so it
 * is a 400 and never a 500. Walks without recursion, so a deep body cannot exhaust the stack.
 */
function unstorableIssues(location: Location, root: unknown): InputIssue[] {
  const issues: InputIssue[] = [];
  const pending: { value: unknown; at: PathNode | undefined }[] = [{ value: root, at: undefined }];
  const check = (text: string, at: PathNode | undefined): boolean => {
    const problem = unstorable(text);
    if (problem !== undefined) issues.push({ location, path: joinPath(at), ...problem });
    return problem !== undefined;
  };
  while (pending.length > 0 && issues.length < MAX_ISSUES) {
    const { value, at } = pending.pop()!;
    if (typeof value === 'string') {
      check(value, at);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const node = { key, parent: at };
        if (!check(key, node)) pending.push({ value: item, at: node });
      }
    }
  }
  return issues;
}

/**
 * The `validation_failed` error for issues found outside the declared schemas (a rule that
 * spans fields, a form field that is not valid JSON), in the same shape as schema issues.
 */
export function validationFailed(issues: readonly InputIssue[]): AppError {
  return AppError.of(
    'validation_failed',
    `The request is invalid: ${issues.map(describe).join('; ')}`,
    { issues },
  );
}

function describe(issue: InputIssue): string {
  const where = issue.path === '' ? issue.location : `${issue.location}.${issue.path}`;
  return `${where}: ${issue.message}`;
}
