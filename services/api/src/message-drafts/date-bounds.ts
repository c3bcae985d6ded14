const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The first instant a `start_date` lets in: a date from its start (UTC), a time as given. */
export function startBound(value: string): string {
  return DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value;
}

/** The last instant an `end_date` lets in: a date to its end (UTC), a time as given. */
export function endBound(value: string): string {
  return DATE_ONLY.test(value) ? `${value}T23:59:59.999999Z` : value;
}
