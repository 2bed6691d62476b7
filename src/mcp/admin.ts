/**
 * The admin's side of tool integrity: accepting a changed or held definition (audited), and
 * the default name of a stdio server (`bastion mcp` without `--server`).
 */

import { basename, extname } from 'node:path';
import type { AuditEventInput } from '../audit/index.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { ToolPin, ToolPinStore } from '../storage/index.js';

/**
 * Accepts the newest definition seen of `tool` on `server` (or its held pin) as the trusted
 * pin, and records `mcp.tool.accepted`. Fails when there is nothing to accept.
 *
 * @example await acceptTool(stores.toolPins, (e) => log.append(e), { server: 'files', tool: 'read_file', by: 'local operator' });
 */
export async function acceptTool(
  pins: ToolPinStore,
  record: (event: AuditEventInput) => Promise<void>,
  input: { server: string; tool: string; by: string; now?: number },
): Promise<Result<ToolPin, BastionError>> {
  const before = await pins.get(input.server, input.tool);
  if (before === undefined) return fail(bastionError('NOT_FOUND', `server ${quote(input.server)} has no pinned tool ${quote(input.tool)}`));
  const accepted = await pins.accept(input.server, input.tool, input.by, input.now ?? Date.now());
  if (accepted === undefined) return fail(bastionError('APPROVAL_CONFLICT', `tool ${quote(input.tool)} of server ${quote(input.server)} is pinned and trusted, with no change to accept`));
  await record({
    type: 'mcp.tool.accepted',
    action: input.tool,
    data: { server: input.server, tool: input.tool, by: input.by, hash: accepted.hash, previousHash: before.hash, previousStatus: before.status, definition: accepted.definition },
  });
  return ok(accepted);
}

/** Programs that run a script or package named by their first argument. */
const RUNNERS = new Set(['node', 'nodejs', 'npx', 'bunx', 'bun', 'deno', 'python', 'python3', 'uv', 'uvx', 'pipx', 'ruby', 'java', 'docker', 'podman']);

/**
 * The name of a stdio server, from its command: the script or package a runner starts
 * (`node build/server.js` → `server`, `npx -y @acme/files-mcp` → `files-mcp`), else the
 * program's name.
 */
export function serverNameFor(command: readonly string[]): string {
  const program = command[0] ?? 'mcp';
  const base = (p: string) => basename(p, extname(p)).replace(/^@.*\//, '') || 'mcp';
  if (!RUNNERS.has(basename(program))) return base(program);
  const target = command.slice(1).find((a) => !a.startsWith('-') && a !== 'run' && a !== 'exec');
  if (target === undefined) return base(program);
  const name = target.includes('/') && !target.startsWith('@') ? base(target) : (target.split('/').pop() ?? target).replace(/@[^@]*$/, '');
  return name.replace(/[^A-Za-z0-9._-]/g, '-') || 'mcp';
}
