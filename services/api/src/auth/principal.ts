import type { Response } from 'express';

/** Who is calling: the organization and actor an API key belongs to. */
export interface Principal {
  organizationId: string;
  actorUserId: string;
  apiKeyId: string;
}

const PRINCIPAL = 'principal';

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals[PRINCIPAL] = principal;
}

/** The authenticated caller, or undefined before (or without) authentication. */
export function findPrincipal(res: Response): Principal | undefined {
  return res.locals[PRINCIPAL] as Principal | undefined;
}

/** The authenticated caller; a route that reaches this without auth is a programming error. */
export function getPrincipal(res: Response): Principal {
  const principal = findPrincipal(res);
  if (principal === undefined) throw new Error('no authenticated principal on this request');
  return principal;
}
