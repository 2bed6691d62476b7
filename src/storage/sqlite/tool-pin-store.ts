/**
 * MCP tool pins in SQLite (`mcp_tool_pins` and `mcp_tool_changes` in the data directory's
 * `bastion.db`). Every read goes to the table, so `bastion mcp accept` (another process) takes
 * effect at the proxy's next `tools/list`. Rows are read strictly: a damaged row is an error,
 * never a definition that passes.
 */

import type { BastionError } from '../../core/errors.js';
import { BastionException, bastionError } from '../../core/errors.js';
import type { Result } from '../../core/result.js';
import type { ToolChange, ToolPin, ToolPinStore } from '../tool-pins.js';
import { openStateDatabase, StateConnection, type SqliteStateOptions } from './state-db.js';

const STORE = 'tool pin store';

/** `MIGRATIONS[i]` takes the tool pin tables from version i to i + 1. */
const MIGRATIONS = [
  `CREATE TABLE mcp_tool_pins (
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    hash TEXT NOT NULL,
    definition TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    pinned_at INTEGER NOT NULL,
    accepted_by TEXT,
    accepted_at INTEGER,
    PRIMARY KEY (server, tool)
  );
  CREATE INDEX mcp_tool_pins_tool ON mcp_tool_pins (tool, pinned_at);
  CREATE TABLE mcp_tool_changes (
    server TEXT NOT NULL,
    tool TEXT NOT NULL,
    hash TEXT NOT NULL,
    definition TEXT NOT NULL,
    seen_at INTEGER NOT NULL,
    PRIMARY KEY (server, tool, hash)
  )`,
];

export interface PinRow {
  server: unknown;
  tool: unknown;
  hash: unknown;
  definition: unknown;
  status: unknown;
  reason: unknown;
  pinned_at: unknown;
  accepted_by: unknown;
  accepted_at: unknown;
}

export interface ChangeRow {
  server: unknown;
  tool: unknown;
  hash: unknown;
  definition: unknown;
  seen_at: unknown;
}

function malformed(table: string, row: { server: unknown; tool: unknown }, what: string): BastionException {
  return new BastionException(bastionError('STATE_STORAGE', `the ${STORE}'s row for \`${String(row.server)}\`/\`${String(row.tool)}\` (table ${table}) is malformed: ${what}`));
}

function common(table: string, row: PinRow | ChangeRow): { server: string; tool: string; hash: string; definition: Record<string, unknown> } {
  const bad = (what: string) => malformed(table, row, what);
  if (typeof row.server !== 'string' || row.server === '') throw bad('server is empty');
  if (typeof row.tool !== 'string' || row.tool === '') throw bad('tool is empty');
  if (typeof row.hash !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(row.hash)) throw bad('hash is not `sha256:<hex>`');
  let definition: unknown;
  try {
    definition = JSON.parse(String(row.definition));
  } catch {
    throw bad('definition is not JSON');
  }
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) throw bad('definition is not an object');
  return { server: row.server, tool: row.tool, hash: row.hash, definition: definition as Record<string, unknown> };
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function pinFromRow(row: PinRow): ToolPin {
  const base = common('mcp_tool_pins', row);
  const bad = (what: string) => malformed('mcp_tool_pins', row, what);
  if (row.status !== 'trusted' && row.status !== 'held') throw bad('status is not `trusted` or `held`');
  if (!isTime(row.pinned_at)) throw bad('pinned_at is not a time in ms');
  const pin: ToolPin = { ...base, status: row.status, pinnedAt: row.pinned_at };
  if (row.reason !== null) pin.reason = String(row.reason);
  if (row.accepted_by !== null) pin.acceptedBy = String(row.accepted_by);
  if (row.accepted_at !== null) {
    if (!isTime(row.accepted_at)) throw bad('accepted_at is not a time in ms');
    pin.acceptedAt = row.accepted_at;
  }
  return pin;
}

export function changeFromRow(row: ChangeRow): ToolChange {
  const base = common('mcp_tool_changes', row);
  if (!isTime(row.seen_at)) throw malformed('mcp_tool_changes', row, 'seen_at is not a time in ms');
  return { ...base, seenAt: row.seen_at };
}

/**
 * Opens (creating when needed) the tool pin tables in a SQLite file, typically the data
 * directory's `bastion.db` (on the audit log's connection: `{ database }`).
 *
 * @example
 * const opened = openSqliteToolPinStore('.bastion/bastion.db');
 * if (opened.ok) await opened.value.list('files');
 */
export function openSqliteToolPinStore(path: string, options: SqliteStateOptions = {}): Result<ToolPinStore, BastionError> {
  const opened = openStateDatabase(path, STORE, 'mcp_tool_pins', MIGRATIONS, options);
  if (!opened.ok) return opened;
  const conn = new StateConnection(opened.value, STORE, options.database !== undefined);
  const db = opened.value;
  const stmts = {
    get: db.prepare('SELECT * FROM mcp_tool_pins WHERE server = ? AND tool = ?'),
    insert: db.prepare(
      'INSERT INTO mcp_tool_pins (server, tool, hash, definition, status, reason, pinned_at, accepted_by, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT (server, tool) DO NOTHING',
    ),
    byTool: db.prepare('SELECT * FROM mcp_tool_pins WHERE tool = ? ORDER BY pinned_at, server'),
    listAll: db.prepare('SELECT * FROM mcp_tool_pins ORDER BY server, tool'),
    listServer: db.prepare('SELECT * FROM mcp_tool_pins WHERE server = ? ORDER BY tool'),
    addChange: db.prepare('INSERT INTO mcp_tool_changes (server, tool, hash, definition, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (server, tool, hash) DO NOTHING'),
    changes: db.prepare('SELECT * FROM mcp_tool_changes WHERE (@server IS NULL OR server = @server) AND (@tool IS NULL OR tool = @tool) ORDER BY seen_at, rowid'),
    replace: db.prepare("UPDATE mcp_tool_pins SET hash = ?, definition = ?, status = 'trusted', reason = NULL, accepted_by = ?, accepted_at = ? WHERE server = ? AND tool = ?"),
    clearChanges: db.prepare('DELETE FROM mcp_tool_changes WHERE server = ? AND tool = ?'),
  };
  const read = (server: string, tool: string): ToolPin | undefined => {
    const row = stmts.get.get(server, tool) as PinRow | undefined;
    return row === undefined ? undefined : pinFromRow(row);
  };
  const store: ToolPinStore = {
    get: async (server, tool) => conn.run('read a pin', () => read(server, tool)),
    pinIfAbsent: async (pin) =>
      conn.write('pin a tool', () => {
        const created = stmts.insert.run(pin.server, pin.tool, pin.hash, JSON.stringify(pin.definition), pin.status, pin.reason ?? null, pin.pinnedAt).changes === 1;
        return { pin: read(pin.server, pin.tool) as ToolPin, created };
      }),
    byTool: async (tool) => conn.run('read pins', () => (stmts.byTool.all(tool) as PinRow[]).map(pinFromRow)),
    list: async (server) => conn.run('list pins', () => ((server === undefined ? stmts.listAll.all() : stmts.listServer.all(server)) as PinRow[]).map(pinFromRow)),
    recordChange: async (c) => conn.write('record a change', () => stmts.addChange.run(c.server, c.tool, c.hash, JSON.stringify(c.definition), c.seenAt).changes === 1),
    changes: async (server, tool) => conn.run('list changes', () => (stmts.changes.all({ server: server ?? null, tool: tool ?? null }) as ChangeRow[]).map(changeFromRow)),
    accept: async (server, tool, by, now) =>
      conn.write('accept a definition', () => {
        const pin = read(server, tool);
        if (pin === undefined) return undefined;
        const pending = (stmts.changes.all({ server, tool }) as ChangeRow[]).map(changeFromRow);
        const newest = pending[pending.length - 1];
        if (newest === undefined && pin.status === 'trusted') return undefined;
        stmts.replace.run(newest?.hash ?? pin.hash, JSON.stringify(newest?.definition ?? pin.definition), by, now, server, tool);
        stmts.clearChanges.run(server, tool);
        return read(server, tool);
      }),
    close: async () => conn.close(),
  };
  return { ok: true, value: store };
}
