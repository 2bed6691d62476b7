/**
 * MCP tool pins on PostgreSQL (`mcp_tool_pins`, `mcp_tool_changes`): one pin per server and
 * tool for every replica, the first replica to see a tool pinning it (`INSERT … ON CONFLICT
 * DO NOTHING`), and an acceptance done under the pin's row lock. Definitions are kept as
 * text (their exact JSON), rows read strictly as in SQLite.
 */

import type pg from 'pg';
import { type ChangeRow, changeFromRow, type PinRow, pinFromRow } from '../sqlite/tool-pin-store.js';
import type { ToolPin, ToolPinStore } from '../tool-pins.js';
import type { Migration } from './migrate.js';
import { ms, type PostgresStateOptions, type Queryable, prepare } from './state.js';

const STORE = 'tool pin store';

export const TOOL_PIN_MIGRATIONS: readonly Migration[] = [
  {
    component: 'toolpins',
    version: 1,
    description: 'mcp tool pins and changes',
    sql: `
CREATE TABLE mcp_tool_pins (
  server text NOT NULL,
  tool text NOT NULL,
  hash text NOT NULL,
  definition text NOT NULL,
  status text NOT NULL,
  reason text,
  pinned_at bigint NOT NULL,
  accepted_by text,
  accepted_at bigint,
  PRIMARY KEY (server, tool)
);
CREATE INDEX mcp_tool_pins_tool ON mcp_tool_pins (tool, pinned_at);
CREATE TABLE mcp_tool_changes (
  n bigserial UNIQUE,
  server text NOT NULL,
  tool text NOT NULL,
  hash text NOT NULL,
  definition text NOT NULL,
  seen_at bigint NOT NULL,
  PRIMARY KEY (server, tool, hash)
);
`,
  },
];

const PIN = `server, tool, hash, definition, status, reason, ${ms('pinned_at')}, accepted_by, ${ms('accepted_at')}`;
const CHANGE = `server, tool, hash, definition, ${ms('seen_at')}`;

async function readPin(q: Queryable, server: string, tool: string, lock = false): Promise<ToolPin | undefined> {
  const row = (await q.query<PinRow>(`SELECT ${PIN} FROM mcp_tool_pins WHERE server = $1 AND tool = $2${lock ? ' FOR UPDATE' : ''}`, [server, tool])).rows[0];
  return row === undefined ? undefined : pinFromRow(row);
}

/**
 * Opens the tool pin store on a pool (its tables made or brought up to date first, unless
 * `migrate: false`).
 *
 * @example const pins = await openPostgresToolPinStore(pool); await pins.list('files');
 */
export async function openPostgresToolPinStore(pool: pg.Pool, options: PostgresStateOptions = {}): Promise<ToolPinStore> {
  const db = await prepare(pool, STORE, TOOL_PIN_MIGRATIONS, options);
  const changes = (q: Queryable, server?: string, tool?: string) =>
    q
      .query<ChangeRow>(`SELECT ${CHANGE} FROM mcp_tool_changes WHERE ($1::text IS NULL OR server = $1) AND ($2::text IS NULL OR tool = $2) ORDER BY seen_at, n`, [server ?? null, tool ?? null])
      .then((r) => r.rows.map(changeFromRow));
  return {
    get: (server, tool) => db.run('read a pin', (q) => readPin(q, server, tool)),
    pinIfAbsent: (pin) =>
      db.run('pin a tool', async (q) => {
        const inserted = await q.query<PinRow>(
          `INSERT INTO mcp_tool_pins (server, tool, hash, definition, status, reason, pinned_at, accepted_by, accepted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)
           ON CONFLICT (server, tool) DO NOTHING RETURNING ${PIN}`,
          [pin.server, pin.tool, pin.hash, JSON.stringify(pin.definition), pin.status, pin.reason ?? null, pin.pinnedAt],
        );
        const row = inserted.rows[0];
        if (row !== undefined) return { pin: pinFromRow(row), created: true };
        const existing = await readPin(q, pin.server, pin.tool);
        if (existing === undefined) throw new Error(`the pin of \`${pin.server}\`/\`${pin.tool}\` vanished while pinning`);
        return { pin: existing, created: false };
      }),
    byTool: (tool) => db.run('read pins', async (q) => (await q.query<PinRow>(`SELECT ${PIN} FROM mcp_tool_pins WHERE tool = $1 ORDER BY pinned_at, server`, [tool])).rows.map(pinFromRow)),
    list: (server) =>
      db.run('list pins', async (q) =>
        (server === undefined
          ? await q.query<PinRow>(`SELECT ${PIN} FROM mcp_tool_pins ORDER BY server, tool`)
          : await q.query<PinRow>(`SELECT ${PIN} FROM mcp_tool_pins WHERE server = $1 ORDER BY tool`, [server])
        ).rows.map(pinFromRow),
      ),
    recordChange: (c) =>
      db.run(
        'record a change',
        async (q) =>
          (
            await q.query('INSERT INTO mcp_tool_changes (server, tool, hash, definition, seen_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (server, tool, hash) DO NOTHING', [
              c.server,
              c.tool,
              c.hash,
              JSON.stringify(c.definition),
              c.seenAt,
            ])
          ).rowCount === 1,
      ),
    changes: (server, tool) => db.run('list changes', (q) => changes(q, server, tool)),
    accept: (server, tool, by, now) =>
      db.tx('accept a definition', async (client) => {
        const pin = await readPin(client, server, tool, true);
        if (pin === undefined) return undefined;
        const pending = await changes(client, server, tool);
        const newest = pending[pending.length - 1];
        if (newest === undefined && pin.status === 'trusted') return undefined;
        await client.query("UPDATE mcp_tool_pins SET hash = $1, definition = $2, status = 'trusted', reason = NULL, accepted_by = $3, accepted_at = $4 WHERE server = $5 AND tool = $6", [
          newest?.hash ?? pin.hash,
          JSON.stringify(newest?.definition ?? pin.definition),
          by,
          now,
          server,
          tool,
        ]);
        await client.query('DELETE FROM mcp_tool_changes WHERE server = $1 AND tool = $2', [server, tool]);
        return readPin(client, server, tool);
      }),
    close: () => db.close(),
  };
}
