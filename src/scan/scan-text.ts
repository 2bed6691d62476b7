/**
 * The entry points over text: `scanText` runs the enabled scanners and returns their findings
 * (ordered by offset) with the redacted text; `redact` and `redactValue` only redact.
 */

import { findPii } from './pii.js';
import { applyRedactions, redactDeep } from './redact.js';
import { findSecrets } from './secrets.js';
import type { ScanFinding, ScanOptions } from './types.js';
import { kindEnabled } from './types.js';
import { injectionFindings } from './injection.js';
import { urlFindings } from './egress.js';

/** Secrets and personal data, secrets winning where the two overlap. */
export function findRedactable(text: string, options?: ScanOptions): ScanFinding[] {
  const secrets = kindEnabled(options, 'secret') ? findSecrets(text) : [];
  if (!kindEnabled(options, 'pii')) return secrets;
  // Both lists are sorted by start: one sweep drops personal data inside a secret.
  let j = 0;
  const pii = findPii(text, options?.pii).filter((p) => {
    while (j < secrets.length && (secrets[j] as ScanFinding).end <= p.start) j++;
    const s = secrets[j];
    return s === undefined || p.end <= s.start;
  });
  return secrets.length === 0 ? pii : [...secrets, ...pii].sort((a, b) => a.start - b.start);
}

/**
 * Scans text for secrets, personal data, prompt injection (reported only when the text
 * scores as an attack) and URLs; returns the findings and the text with secrets and personal
 * data redacted. Offsets index the original text.
 *
 * @example scanText('key=AKIAZ7VQ3XKPL2M4N5TR').redacted // 'key=[REDACTED:aws-access-key]'
 */
export function scanText(text: string, options?: ScanOptions): { findings: ScanFinding[]; redacted: string } {
  const redactable = findRedactable(text, options);
  const findings = [...redactable];
  if (kindEnabled(options, 'injection')) findings.push(...injectionFindings(text));
  if (kindEnabled(options, 'url')) findings.push(...urlFindings(text));
  findings.sort((a, b) => a.start - b.start || a.end - b.end);
  return { findings, redacted: applyRedactions(text, redactable) };
}

/**
 * Redacts secrets and personal data in text as `[REDACTED:<rule>]`.
 *
 * @example redact('token ghp_…') // 'token [REDACTED:github-pat]'
 */
export function redact(text: string, options?: ScanOptions): string {
  return applyRedactions(text, findRedactable(text, options));
}

/**
 * Deep redaction of a JSON-like value: every string is redacted, and a string under a key
 * named like a credential (`password`, `apiKey`, `client_secret`, `authorization` …) is
 * replaced whole. The shape is kept, so JSON stays valid; the input is not modified.
 *
 * @example redactValue({ user: 'a', password: 'x' }) // { user: 'a', password: '[REDACTED:password-field]' }
 */
export function redactValue<T>(value: T, options?: ScanOptions): T {
  return redactDeep(value, (text) => redact(text, options));
}
