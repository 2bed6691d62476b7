/**
 * Masking of matched values for evidence: enough to recognize a finding (`AKIA…`), never
 * enough to use it.
 */

/** @example maskValue('AKIAZ7VQ3XKPL2M4N5TR') // 'AKIA…(20)' */
export function maskValue(value: string): string {
  if (value.length < 12) return `…(${value.length})`;
  return `${value.slice(0, 4)}…(${value.length})`;
}
