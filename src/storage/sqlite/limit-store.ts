/**
 * The limit store in SQLite: a rate key's TAT in `limit_rates`, a budget key's window and
 * spend in `limit_budgets`. Each step is one `BEGIN IMMEDIATE` transaction, so several
 * processes on one file share one count per key.
 *
 * Durability: `synchronous=NORMAL` by default (in WAL mode a process crash loses nothing;
 * a power loss may forget the last moments of counting, which forgives a few calls) so a
 * decision does not pay a second fsync beside the audit log's. Pass `synchronous: 'FULL'`
 * to make every step durable.
 */

import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { BudgetState, LimitBackend, LimitStore } from '../../limits/index.js';
import { limitStoreOver } from '../../limits/index.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'limit store';

/** `MIGRATIONS[i]` takes the limit tables from version i to i + 1. */
const MIGRATIONS = [
  `CREATE TABLE limit_rates (key TEXT PRIMARY KEY, tat REAL NOT NULL) WITHOUT ROWID;
  CREATE TABLE limit_budgets (key TEXT PRIMARY KEY, window_start INTEGER NOT NULL, window_ms INTEGER NOT NULL, spent REAL NOT NULL) WITHOUT ROWID;`,
];

function malformed(table: string, key: string, what: string): BastionException {
  return new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row for \`${key}\` (table ${table}) is malformed: ${what}`));
}

function finite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * Opens (creating when needed) the limit tables in a SQLite file, typically the data
 * directory's `bastion.db`.
 *
 * @example
 * const opened = openSqliteLimitStore('.bastion/bastion.db');
 * if (opened.ok) await opened.value.spend('budget:alice', 1, 100, 86_400_000, Date.now());
 */
export function openSqliteLimitStore(path: string, options: SqliteStateOptions = {}): Result<LimitStore, BastionError> {
  const opened = openStateDatabase(path, STORE, 'limits', MIGRATIONS, { ...options, synchronous: options.synchronous ?? 'NORMAL' });
  if (!opened.ok) return opened;
  const db = opened.value;
  const conn = new StateConnection(db, STORE, options.database !== undefined);
  const stmts = {
    readRate: db.prepare('SELECT tat FROM limit_rates WHERE key = ?').pluck(true),
    writeRate: db.prepare('INSERT INTO limit_rates (key, tat) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET tat = excluded.tat'),
    readBudget: db.prepare('SELECT window_start, window_ms, spent FROM limit_budgets WHERE key = ?'),
    writeBudget: db.prepare(
      'INSERT INTO limit_budgets (key, window_start, window_ms, spent) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, window_ms = excluded.window_ms, spent = excluded.spent',
    ),
    pruneRates: db.prepare('DELETE FROM limit_rates WHERE tat <= ?'),
    pruneBudgets: db.prepare('DELETE FROM limit_budgets WHERE window_start + window_ms <= ?'),
  };
  // Built once: a transaction function per call would cost on the path of every decision.
  const rateStep = db.transaction((key: string, step: (tat: number | undefined) => { tat: number | undefined; result: unknown }) => {
    const stored = stmts.readRate.get(key) as unknown;
    if (stored !== undefined && !finite(stored)) throw malformed('limit_rates', key, 'tat is not a number');
    const out = step(stored);
    if (out.tat !== undefined) stmts.writeRate.run(key, out.tat);
    return out.result;
  });
  const budgetStep = db.transaction((key: string, step: (state: BudgetState | undefined) => { state: BudgetState | undefined; result: unknown }) => {
    const row = stmts.readBudget.get(key) as { window_start: unknown; window_ms: unknown; spent: unknown } | undefined;
    let stored: BudgetState | undefined;
    if (row !== undefined) {
      if (!finite(row.window_start) || !finite(row.window_ms) || row.window_ms < 1 || !finite(row.spent) || row.spent < 0)
        throw malformed('limit_budgets', key, 'window_start, window_ms or spent is not a number in range');
      stored = { windowStart: row.window_start, windowMs: row.window_ms, spent: row.spent };
    }
    const out = step(stored);
    if (out.state !== undefined) stmts.writeBudget.run(key, out.state.windowStart, out.state.windowMs, out.state.spent);
    return out.result;
  });
  const prune = db.transaction((now: number) => stmts.pruneRates.run(now).changes + stmts.pruneBudgets.run(now).changes);
  const backend: LimitBackend = {
    rate: async (key, step) => conn.run('take from a rate limit', () => rateStep.immediate(key, step)) as ReturnType<typeof step>['result'],
    budget: async (key, step) => conn.run('spend from a budget', () => budgetStep.immediate(key, step)) as ReturnType<typeof step>['result'],
    prune: async (now) => conn.run('prune idle keys', () => prune.immediate(now)),
    close: async () => conn.close(),
  };
  return { ok: true, value: limitStoreOver(backend, STORE) };
}
