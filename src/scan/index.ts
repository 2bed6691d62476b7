/**
 * Content scanners: secrets, personal data, prompt injection and egress destinations in what
 * agents read and write, with redaction (in place, inside JSON values, across stream chunks)
 * and policy-driven output validation. This file is the folder's whole public face.
 */

import { findRedactable } from './scan-text.js';
import { applyRedactions } from './redact.js';
import { makeStreamRedactor } from './stream-redactor.js';
import type { StreamRedactor } from './stream-redactor.js';
import type { ScanOptions } from './types.js';

export type { ScanFinding, ScanKind, ScanOptions, PiiOptions } from './types.js';
export { scanText, redact, redactValue } from './scan-text.js';
export { findSecrets, SECRET_RULE_IDS } from './secrets.js';
export { findPii, PII_RULE_IDS } from './pii.js';
export type { StreamRedactor } from './stream-redactor.js';
export { detectInjection, INJECTION_THRESHOLD } from './injection.js';
export { classify } from './classifier.js';
export type { ClassifierOptions, ClassifierVerdict } from './classifier.js';
export type { InjectionResult, InjectionTechniqueHit } from './injection.js';
export type { InjectionTechnique } from './injection-patterns.js';
export { spotlight } from './spotlight.js';
export { validateOutput } from './validate-output.js';
export type { OutputMode, OutputValidation } from './validate-output.js';
export { extractDestinations, checkEgress } from './egress.js';
export type { Destination, EgressPolicy } from './egress.js';
export { scanRequest } from './scan-request.js';
export type { RequestScan } from './scan-request.js';

/**
 * A redactor for a stream of chunks: `push` returns what is safe to release, `end` the rest.
 * A secret cut across chunks is still caught (output lags the input by up to about 1 KB).
 *
 * @example
 * const r = createStreamRedactor();
 * const out = r.push('token ghp_abc') + r.push('…rest') + r.end();
 */
export function createStreamRedactor(options?: ScanOptions): StreamRedactor {
  return makeStreamRedactor((text) => findRedactable(text, options), applyRedactions);
}
