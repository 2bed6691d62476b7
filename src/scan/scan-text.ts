/**
 * The entry points over text: `scanText` runs the enabled scanners and returns their findings
 * (ordered by offset) with the redacted text; `redact` and `redactValue` only redact.
 */

import { findPii, PII_KEYWORDS } from './pii.js';
import { applyRedactions, redactDeep } from './redact.js';
import { findSecrets, findSecretsAt, SECRET_KEYWORDS } from './secrets.js';
import type { ScanFinding, ScanOptions } from './types.js';
import { kindEnabled } from './types.js';
import { INJECTION_KEYWORDS, injectionFindings } from './injection.js';
import { NAMED_HOST_KEYWORDS, urlFindings } from './egress.js';
import { KeywordAutomaton } from './keyword-automaton.js';

/**
 * The secret rules', the injection detectors', the labelled personal-data patterns' and the
 * named hosts' keywords in one automaton: one walk for all four when all scanners run.
 */
const COMBINED = new KeywordAutomaton([...SECRET_KEYWORDS, ...INJECTION_KEYWORDS, ...PII_KEYWORDS, ...NAMED_HOST_KEYWORDS]);
const GROUPING = COMBINED.grouping([
  SECRET_KEYWORDS.length,
  SECRET_KEYWORDS.length + INJECTION_KEYWORDS.length,
  SECRET_KEYWORDS.length + INJECTION_KEYWORDS.length + PII_KEYWORDS.length,
  COMBINED.keywords.length,
]);

export interface KeywordHits {
  secret: number[];
  injection: number[];
  pii: number[];
  named: number[];
}

/** Keyword hits for the secret, injection, personal-data and egress scanners, from one walk over the text. */
function keywordHits(text: string): KeywordHits {
  const [secret, injection, pii, named] = COMBINED.scanGroups(text, GROUPING) as [number[], number[], number[], number[]];
  return { secret, injection, pii, named };
}

/** Secrets and personal data, secrets winning where the two overlap. */
export function findRedactable(text: string, options?: ScanOptions, hits?: KeywordHits): ScanFinding[] {
  const secrets = !kindEnabled(options, 'secret') ? [] : hits !== undefined ? findSecretsAt(text, hits.secret) : findSecrets(text);
  if (!kindEnabled(options, 'pii')) return secrets;
  // Both lists are sorted by start: one sweep drops personal data inside a secret.
  let j = 0;
  const pii = findPii(text, options?.pii, hits?.pii).filter((p) => {
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
  const injection = kindEnabled(options, 'injection');
  const hits = injection && kindEnabled(options, 'secret') ? keywordHits(text) : undefined;
  const redactable = findRedactable(text, options, hits);
  const findings = [...redactable];
  if (injection) findings.push(...injectionFindings(text, hits?.injection));
  if (kindEnabled(options, 'url')) findings.push(...urlFindings(text, hits?.named));
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
