/**
 * The port of MCP tool pins: each upstream server's tool definitions as first seen (name,
 * title, description, schemas, annotations, by hash), and the definitions seen since that
 * differ from the pin. The MCP proxy (`mcp/`) reads and writes it; an admin's
 * `bastion mcp accept` turns a held or changed definition into the trusted pin.
 *
 * The port lives beside its adapters rather than in `mcp/`, because `mcp/` depends on the
 * gateway, which depends on `storage/`: a type here keeps the folders acyclic. A PostgreSQL
 * adapter implements the same interface (and passes `test/storage/contracts/tool-pins.ts`).
 */

/** Why a pinned definition is not in use: it was held on first sight (an injected description). */
export type ToolPinStatus = 'trusted' | 'held';

/** One server's pinned definition of one tool. */
export interface ToolPin {
  server: string;
  tool: string;
  /** `sha256:<hex>` of the canonical JSON of `definition`. */
  hash: string;
  /** What was pinned (see `mcp/` `pinnedDefinition`): plain JSON. */
  definition: Record<string, unknown>;
  status: ToolPinStatus;
  /** Why a `held` pin is held (e.g. `description scores as a prompt injection: …`). */
  reason?: string;
  /** When the definition was first seen (ms since the epoch). */
  pinnedAt: number;
  /** Who accepted it (`bastion mcp accept`), when it was not simply first seen. */
  acceptedBy?: string;
  acceptedAt?: number;
}

/** A definition seen after the pin that differs from it: hidden until accepted. */
export interface ToolChange {
  server: string;
  tool: string;
  hash: string;
  definition: Record<string, unknown>;
  /** When this definition was first seen. */
  seenAt: number;
}

export interface ToolPinStore {
  get(server: string, tool: string): Promise<ToolPin | undefined>;
  /**
   * Pins `pin` unless this server already has a pin for the tool; answers the pin in force
   * (another process may have pinned first) and whether this call created it.
   */
  pinIfAbsent(pin: ToolPin): Promise<{ pin: ToolPin; created: boolean }>;
  /** Every server's pin of a tool name, oldest first (shadowing: the first server owns the name). */
  byTool(tool: string): Promise<ToolPin[]>;
  /** The pins of one server (or all), by server then tool. */
  list(server?: string): Promise<ToolPin[]>;
  /** Records a definition that differs from the pin; false when this exact one was recorded before. */
  recordChange(change: ToolChange): Promise<boolean>;
  /** The changes recorded and not accepted, oldest first. */
  changes(server?: string, tool?: string): Promise<ToolChange[]>;
  /**
   * An admin's acceptance: the newest recorded change (else the held pin itself) becomes the
   * trusted pin and the tool's changes are cleared. Answers the new pin, or undefined when
   * there is nothing to accept (no pin, or a trusted pin without changes).
   */
  accept(server: string, tool: string, by: string, now: number): Promise<ToolPin | undefined>;
  close(): Promise<void>;
}
