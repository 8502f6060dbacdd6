/** What the snapshot and proof stores need of the Postgres store: its schema, its pool, its transactions. */
import type { PoolClient, QueryResultRow } from 'pg';

export interface PostgresAccess {
  description: string;
  ensureSchema(): Promise<void>;
  query<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<R[]>;
  transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T>;
  /** `fn` once the schema exists; any failure as evidence_store_unavailable naming `action`. */
  run<T>(action: string, fn: () => Promise<T>): Promise<T>;
}
