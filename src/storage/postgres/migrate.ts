/**
 * Versioned, idempotent schema migrations for the PostgreSQL stores. Each store owns a
 * component (`audit`, `approvals`, …) with its own numbered steps; applied steps are
 * recorded in `bastion_schema_migrations`, and every run holds one advisory lock, so that
 * replicas starting together apply each step exactly once.
 */

import type pg from 'pg';

/** One step of one component's schema, applied in a transaction of its own. */
export interface Migration {
  component: string;
  /** 1, 2, 3, … in order within the component. */
  version: number;
  description: string;
  sql: string;
}

export interface MigrationReport {
  /** The steps this run applied, in order (empty when the schema was already current). */
  applied: Array<{ component: string; version: number; description: string }>;
}

/** The advisory lock every migration run holds (an arbitrary constant: "bast" in ASCII). */
const MIGRATION_LOCK = 0x62617374;

const LEDGER = `CREATE TABLE IF NOT EXISTS bastion_schema_migrations (
  component text NOT NULL,
  version integer NOT NULL,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (component, version)
)`;

/** Checks that each component's steps are numbered 1, 2, 3, … with no gap or repeat. */
export function checkMigrations(migrations: readonly Migration[]): string | undefined {
  const byComponent = new Map<string, number[]>();
  for (const m of migrations) byComponent.set(m.component, [...(byComponent.get(m.component) ?? []), m.version]);
  for (const [component, versions] of byComponent) {
    const expected = versions.map((_, i) => i + 1);
    if (versions.some((v, i) => v !== expected[i])) return `migrations of ${component} must be numbered 1, 2, 3, … in order, got ${versions.join(', ')}`;
  }
  return undefined;
}

/**
 * Applies the steps of `migrations` not yet recorded, each in its own transaction, under one
 * advisory lock held for the whole run. Safe to call from every replica at every start.
 * Rejects (naming the component and version) when a step fails; steps before it stay applied.
 *
 * @example
 * const report = await migrate(pool, [...auditMigrations, ...stateMigrations]);
 */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[]): Promise<MigrationReport> {
  const problem = checkMigrations(migrations);
  if (problem) throw new Error(problem);
  const client = await pool.connect();
  const applied: MigrationReport['applied'] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(LEDGER);
      const done = await client.query<{ component: string; version: number }>('SELECT component, version FROM bastion_schema_migrations');
      const have = new Set(done.rows.map((r) => `${r.component}:${r.version}`));
      for (const m of migrations) {
        if (have.has(`${m.component}:${m.version}`)) continue;
        try {
          await client.query('BEGIN');
          await client.query(m.sql);
          await client.query('INSERT INTO bastion_schema_migrations (component, version, description) VALUES ($1, $2, $3)', [m.component, m.version, m.description]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          const message = err instanceof Error ? err.message : String(err);
          throw new Error(`migration ${m.component} ${m.version} (${m.description}) failed: ${message}`);
        }
        applied.push({ component: m.component, version: m.version, description: m.description });
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
  return { applied };
}
