import type { ScanFinding } from './types.js';
export function injectionFindings(_text: string): ScanFinding[] {
  return [];
}
