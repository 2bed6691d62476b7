/**
 * The taint port: which traces read untrusted content that scored as a prompt-injection
 * attack. `inspectResult` marks a trace; every later decision in it reads the record as a
 * fact (`analysis.untrustedContent`), so a policy can hold what an injected agent asks for.
 *
 * Adapters: in memory (`src/storage/memory/taint-store.ts`); a shared store (Redis) in a
 * later issue lets replicas see each other's taint.
 */

import type { TaintRecord } from '../core/types.js';

export interface TaintStore {
  /** The trace's taint, or undefined when it read no attack. */
  get(traceId: string): Promise<TaintRecord | undefined>;
  /** Marks a trace (the latest record of a trace replaces the earlier one). */
  mark(traceId: string, record: TaintRecord): Promise<void>;
  close(): Promise<void>;
}
