import type { ScanFinding } from './types.js';
export function urlFindings(_text: string): ScanFinding[] {
  return [];
}
