/**
 * Output validation for what an agent writes to the outside (a Jira comment, a Slack
 * message, a tool result relayed on): per action, a policy chooses `block`, `redact` or
 * `allow`, and the result says what was done so the decision and the audit trail record it.
 */

import { findRedactable } from './scan-text.js';
import { applyRedactions } from './redact.js';
import type { ScanFinding, ScanOptions } from './types.js';

export type OutputMode = 'block' | 'redact' | 'allow';

export interface OutputValidation {
  /** What was done: `block` (text withheld), `redact` (text redacted) or `allow` (unchanged). */
  action: OutputMode;
  text: string;
  findings: ScanFinding[];
}

/**
 * Validates outbound text for secrets and personal data. With no finding the action is
 * `allow` whatever the mode; with findings, `block` withholds the text (empty string),
 * `redact` redacts it, `allow` passes it unchanged but still reports the findings.
 *
 * @example validateOutput('key AKIAZ7VQ3XKPL2M4N5TR', 'block').action // 'block'
 */
export function validateOutput(text: string, mode: OutputMode, options?: ScanOptions): OutputValidation {
  const findings = findRedactable(text, options);
  if (findings.length === 0 || mode === 'allow') return { action: 'allow', text, findings };
  if (mode === 'redact') return { action: 'redact', text: applyRedactions(text, findings), findings };
  return { action: 'block', text: '', findings };
}
