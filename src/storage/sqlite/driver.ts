/**
 * The one place that loads the SQLite driver (better-sqlite3), picking the build that is safe
 * on the running Node:
 *
 * - Node ≥ 22: better-sqlite3 13 (Node-API, prebuilt binaries shipped inside the npm package),
 *   installed under the alias `better-sqlite3-napi`. Version 12 subclasses `node::ObjectWrap`,
 *   whose destructor aborts the process on Node ≥ 24.19 (`Assertion failed: (env) != nullptr`
 *   in `RemoveEnvironmentCleanupHook`) when a statement is finalized by the garbage collector:
 *   at exit, or in the middle of serving.
 * - Node 20: better-sqlite3 12 (an optional dependency, built from source when no prebuilt
 *   binary can be fetched); 13 does not load there.
 */

import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

function load(): typeof BetterSqlite3 {
  const name = NODE_MAJOR >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3';
  try {
    return require(name) as typeof BetterSqlite3;
  } catch (err) {
    throw new Error(
      `the SQLite driver \`${name}\` cannot be loaded on Node ${process.versions.node}: ${(err as Error).message.split('\n')[0]}` +
        (name === 'better-sqlite3' ? ' (on Node 20 it is built from source when no prebuilt binary is available: install python3, make and a C++ compiler, then `npm rebuild better-sqlite3`)' : ''),
    );
  }
}

/** The better-sqlite3 `Database` class for this Node version. */
export const Database: typeof BetterSqlite3 = load();
export type SqliteDatabase = BetterSqlite3.Database;
