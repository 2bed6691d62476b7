/**
 * Small pure pieces of the native model that the engine needs without the schema: the
 * problem a validator reports (with the path of the offending field, so the loader can point
 * at a line and column) and approval durations. The schema itself is src/policy/schema.ts.
 */

import type { ErrorCode } from '../core/errors.js';

export interface Problem {
  path: (string | number)[];
  message: string;
  code: ErrorCode;
  /** The problem is the key at `path` (an unknown field), not its value. */
  atKey?: boolean;
}

const DURATION = /^(\d+)(s|m|h|d)$/;

/** Parses `expiresIn`: seconds as a number, or `30s`, `15m`, `4h`, `7d`. */
export function parseDuration(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = DURATION.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n * unit : undefined;
}
