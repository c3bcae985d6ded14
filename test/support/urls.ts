/** The same server as `url`, on its `postgres` maintenance database. */
export function adminUrl(url: string): string {
  return databaseUrl(url, 'postgres');
}

/** The same server as `url`, on database `name`. */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
