import { findAgent, findAgentByEmail, type Agent, type Executor } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import { validationFailed } from '../routing/validate-input.ts';

/** Which agent of a draft a pair of body fields names: `author_id`/`author_email`, or `target_…`. */
export type DraftAgentRole = 'author' | 'target';

export interface AgentReference {
  id?: number | null | undefined;
  email?: string | null | undefined;
}

/**
 * The agent of the organization that `{role}_id` and/or `{role}_email` name; undefined when
 * neither is given (`null` counts as absent). 404 `not_found` naming the field when one names
 * no agent of the organization (another organization's agents are unknown here); 400
 * `validation_failed` on `{role}_email` when the two name different agents.
 */
export async function resolveDraftAgent(
  db: Executor,
  organizationId: string,
  role: DraftAgentRole,
  reference: AgentReference,
): Promise<Agent | undefined> {
  const { id, email } = reference;
  const byId = id == null ? undefined : await findAgent(db, organizationId, id);
  if (id != null && byId === undefined) {
    throw unknownAgent(`${role}_id`, id, `no agent with id ${id} in your organization`);
  }
  const byEmail = email == null ? undefined : await findAgentByEmail(db, organizationId, email);
  if (email != null && byEmail === undefined) {
    throw unknownAgent(`${role}_email`, email, `no agent with email ${email} in your organization`);
  }
  if (byId !== undefined && byEmail !== undefined && byId.id !== byEmail.id) {
    throw validationFailed([
      {
        location: 'body',
        path: `${role}_email`,
        code: 'agent_mismatch',
        message: `${role}_email ${email} is agent ${byEmail.id}, but ${role}_id is ${id}; give one, or both for the same agent`,
      },
    ]);
  }
  return byId ?? byEmail;
}

/** 400 `validation_failed` on `author_id`: a draft needs an author, by id or by email. */
export function missingAuthor(): AppError {
  return validationFailed([
    {
      location: 'body',
      path: 'author_id',
      code: 'missing_author',
      message: 'give author_id or author_email: the agent writing the draft',
    },
  ]);
}

function unknownAgent(field: string, value: number | string, why: string): AppError {
  return AppError.of('not_found', `${field}: ${why}`, { field, [field]: value });
}
