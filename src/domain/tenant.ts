/**
 * A tenant as every layer names it: the id that scopes every query and the name people and the
 * CLI use. The store reads it, the API finds it from an API key, the console from a session.
 */
export interface Tenant {
  id: number;
  name: string;
}
