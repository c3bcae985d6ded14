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
  if (issues.length > 0) throw validationFailed(issues);
  return input;
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
