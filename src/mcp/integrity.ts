/**
 * Tool integrity: which of an upstream server's tools may be shown and called at all, before
 * policy is asked. Each tool definition is pinned on first sight (the port `ToolPinStore`);
 *
 * - a definition that differs from its pin ("rug pull") is hidden, recorded as a change and
 *   audited (`mcp.tool.changed`) until an admin accepts it (`bastion mcp accept`);
 * - a tool name another server pinned first is refused here (`mcp.tool.refused`, shadowing):
 *   policy decides by the tool's name, so a second server's `read_file` must not pass as the
 *   first's;
 * - a definition whose text (title, description, the schemas' descriptions) scores as a prompt
 *   injection is pinned `held`, hidden and audited until an admin accepts it.
 *
 * Refusals are audited once per server, tool and definition in a process, not on every list.
 */

import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AuditEventInput } from '../audit/index.js';
import { detectInjection } from '../scan/index.js';
import type { ToolPinStore } from '../storage/index.js';
import { definitionHash, pinnedDefinition, readableText } from './definition.js';

export type RefusalKind = 'changed' | 'shadowed' | 'injection' | 'invalid';

export interface ToolRefusal {
  tool: string;
  kind: RefusalKind;
  reason: string;
}

export interface ToolReview {
  /** The tools whose definitions are the pinned, trusted ones. */
  accepted: Tool[];
  refused: ToolRefusal[];
}

export interface ToolIntegrity {
  /** Reviews one listing of `server`'s tools. */
  review(server: string, tools: readonly Tool[]): Promise<ToolReview>;
}

export interface ToolIntegrityOptions {
  pins: ToolPinStore;
  record: (event: AuditEventInput) => Promise<void>;
  now?: () => number;
}

/**
 * @example
 * const integrity = createToolIntegrity({ pins: stores.toolPins, record: (e) => log.append(e) });
 * const { accepted, refused } = await integrity.review('files', listed.tools);
 */
export function createToolIntegrity(options: ToolIntegrityOptions): ToolIntegrity {
  const { pins, record } = options;
  const now = options.now ?? Date.now;
  const told = new Set<string>();
  const once = async (key: string, event: AuditEventInput) => {
    if (told.has(key)) return;
    told.add(key);
    if (told.size > 10_000) told.delete(told.values().next().value as string);
    await record(event);
  };

  const reviewOne = async (server: string, tool: Tool): Promise<ToolRefusal | undefined> => {
    const name = tool.name;
    const definition = pinnedDefinition(tool);
    const hash = definitionHash(definition);
    if (typeof name !== 'string' || name === '' || !(name as unknown as { isWellFormed(): boolean }).isWellFormed() || hash === undefined) {
      return { tool: String(name), kind: 'invalid', reason: 'the tool definition is not plain JSON with a well-formed name' };
    }
    const base = { action: name, data: { server, tool: name, hash } };
    const owners = await pins.byTool(name);
    const owner = owners[0];
    if (owner !== undefined && owner.server !== server) {
      const reason = `tool \`${name}\` shadows the tool of the same name on server \`${owner.server}\`, pinned first`;
      await once(`shadow:${server}:${name}:${hash}`, { type: 'mcp.tool.refused', ...base, reason, data: { ...base.data, refusal: 'shadowed', owner: owner.server } });
      return { tool: name, kind: 'shadowed', reason };
    }
    let pin = owners.find((p) => p.server === server);
    if (pin === undefined) {
      const injection = detectInjection(readableText(definition));
      const techniques = [...new Set(injection.techniques.map((t) => t.technique))];
      const held = injection.attack ? `the definition scores as a prompt injection (${techniques.join(', ')}; score ${injection.score.toFixed(2)})` : undefined;
      const made = await pins.pinIfAbsent({ server, tool: name, hash, definition, status: held ? 'held' : 'trusted', ...(held ? { reason: held } : {}), pinnedAt: now() });
      pin = made.pin;
      if (made.created) {
        await record({ type: 'mcp.tool.pinned', ...base, data: { ...base.data, status: pin.status, ...(held ? { reason: held, techniques } : {}), definition } });
        // Another server may have pinned the same name in the same instant: the oldest owns it.
        const first = (await pins.byTool(name))[0];
        if (first !== undefined && first.server !== server) return reviewOne(server, tool);
      }
    }
    if (pin.hash !== hash) {
      const reason = `the definition of tool \`${name}\` changed since it was pinned: hidden until an admin accepts it (\`bastion mcp accept --server ${server} --tool ${name}\`)`;
      const fresh = await pins.recordChange({ server, tool: name, hash, definition, seenAt: now() });
      if (fresh) await record({ type: 'mcp.tool.changed', ...base, reason, data: { ...base.data, pinnedHash: pin.hash, pinned: pin.definition, definition } });
      return { tool: name, kind: 'changed', reason };
    }
    if (pin.status === 'held') {
      const reason = `tool \`${name}\` is held: ${pin.reason ?? 'not yet accepted'}; an admin may accept it (\`bastion mcp accept --server ${server} --tool ${name}\`)`;
      await once(`held:${server}:${name}:${hash}`, { type: 'mcp.tool.refused', ...base, reason, data: { ...base.data, refusal: 'injection' } });
      return { tool: name, kind: 'injection', reason };
    }
    return undefined;
  };

  return {
    async review(server, tools) {
      const accepted: Tool[] = [];
      const refused: ToolRefusal[] = [];
      const seen = new Set<string>();
      for (const tool of tools) {
        // A server listing one name twice is ambiguous: which definition would a call reach?
        if (seen.has(tool.name)) {
          refused.push({ tool: tool.name, kind: 'invalid', reason: `server \`${server}\` lists tool \`${tool.name}\` more than once` });
          continue;
        }
        seen.add(tool.name);
        const refusal = await reviewOne(server, tool);
        if (refusal) refused.push(refusal);
        else accepted.push(tool);
      }
      // A name listed twice is refused in both places.
      const dup = new Set(refused.filter((r) => r.kind === 'invalid').map((r) => r.tool));
      return { accepted: accepted.filter((t) => !dup.has(t.name)), refused };
    },
  };
}
