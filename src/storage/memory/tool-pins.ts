/**
 * MCP tool pins in process memory: for tests and gateways without a data directory. Records
 * are copied in and out; each operation runs in one turn of the event loop.
 */

import type { ToolChange, ToolPin, ToolPinStore } from '../tool-pins.js';

const key = (server: string, tool: string) => JSON.stringify([server, tool]);

/**
 * @example
 * const pins = createMemoryToolPinStore();
 * await pins.pinIfAbsent({ server: 'files', tool: 'read_file', hash, definition, status: 'trusted', pinnedAt: Date.now() });
 */
export function createMemoryToolPinStore(): ToolPinStore {
  const pins = new Map<string, ToolPin>();
  const changes = new Map<string, ToolChange[]>();
  const order = (a: ToolPin, b: ToolPin) => a.pinnedAt - b.pinnedAt || (a.server < b.server ? -1 : a.server > b.server ? 1 : 0);
  return {
    get: async (server, tool) => {
      const pin = pins.get(key(server, tool));
      return pin === undefined ? undefined : structuredClone(pin);
    },
    async pinIfAbsent(pin) {
      const existing = pins.get(key(pin.server, pin.tool));
      if (existing !== undefined) return { pin: structuredClone(existing), created: false };
      pins.set(key(pin.server, pin.tool), structuredClone(pin));
      return { pin: structuredClone(pin), created: true };
    },
    byTool: async (tool) =>
      [...pins.values()]
        .filter((p) => p.tool === tool)
        .sort(order)
        .map((p) => structuredClone(p)),
    list: async (server) =>
      [...pins.values()]
        .filter((p) => server === undefined || p.server === server)
        .sort((a, b) => (a.server < b.server ? -1 : a.server > b.server ? 1 : a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0))
        .map((p) => structuredClone(p)),
    async recordChange(change) {
      const list = changes.get(key(change.server, change.tool)) ?? [];
      if (list.some((c) => c.hash === change.hash)) return false;
      list.push(structuredClone(change));
      changes.set(key(change.server, change.tool), list);
      return true;
    },
    changes: async (server, tool) =>
      [...changes.values()]
        .flat()
        .filter((c) => (server === undefined || c.server === server) && (tool === undefined || c.tool === tool))
        .sort((a, b) => a.seenAt - b.seenAt)
        .map((c) => structuredClone(c)),
    async accept(server, tool, by, now) {
      const pin = pins.get(key(server, tool));
      if (pin === undefined) return undefined;
      const pending = changes.get(key(server, tool)) ?? [];
      const newest = pending[pending.length - 1];
      if (newest === undefined && pin.status === 'trusted') return undefined;
      const next: ToolPin = {
        server,
        tool,
        hash: newest?.hash ?? pin.hash,
        definition: structuredClone(newest?.definition ?? pin.definition),
        status: 'trusted',
        pinnedAt: pin.pinnedAt,
        acceptedBy: by,
        acceptedAt: now,
      };
      pins.set(key(server, tool), next);
      changes.delete(key(server, tool));
      return structuredClone(next);
    },
    close: async () => {
      pins.clear();
      changes.clear();
    },
  };
}
