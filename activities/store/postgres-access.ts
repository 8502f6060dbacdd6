/** What the snapshot and proof stores need of the Postgres store: its schema, its pool, its transactions. */
import type { PoolClient, QueryResultRow } from 'pg';

export interface PostgresAccess {
  description: string;
  ensureSchema(): Promise<void>;
  query<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<R[]>;
  transaction<T>(body: (client: PoolClient) => Promise<T>): Promise<T>;
}
