/**
 * Redaction: replacing what the secret and personal-data scanners found with
 * `[REDACTED:<rule>]`, in a string or in every string of a JSON-like value, so that what is
 * logged or sent on never carries the value in clear.
 */

import type { ScanFinding } from './types.js';

/** Only secrets and personal data are redacted; injection and URL findings are facts. */
export function isRedactable(finding: ScanFinding): boolean {
  return finding.type === 'secret' || finding.type === 'pii';
}

/**
 * Replaces each redactable finding's span with `[REDACTED:<rule>]`; overlapping spans merge
 * under the first one's rule.
 *
 * @example applyRedactions('k=AKIA…', findings) // 'k=[REDACTED:aws-access-key]'
 */
export function applyRedactions(text: string, findings: readonly ScanFinding[]): string {
  const spans = findings.filter(isRedactable).sort((a, b) => a.start - b.start);
  if (spans.length === 0) return text;
  let out = '';
  let cursor = 0;
  for (const f of spans) {
    if (f.end <= cursor) continue;
    const start = Math.max(f.start, cursor);
    if (start === f.start) out += text.slice(cursor, start) + `[REDACTED:${f.rule}]`;
    cursor = f.end;
  }
  return out + text.slice(cursor);
}

/**
 * Object keys whose string value is a credential whatever it looks like. The key must end in
 * the word, so `max_tokens` and `token_type` are left alone.
 */
export const SENSITIVE_KEY = /(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|authorization|cookie|session[_-]?id|x-api-key)$/i;

/**
 * Deep copy of a JSON-like value with every string, object keys included, redacted by
 * `redactString` and every string under a sensitive key replaced whole. Shapes are kept (a string stays a string), so the
 * result serializes to valid JSON whenever the input did. Cycles are preserved, not followed.
 */
export function redactDeep<T>(value: T, redactString: (text: string) => string): T {
  const seen = new Map<object, unknown>();
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (typeof v === 'string') {
      if (key !== undefined && v !== '' && SENSITIVE_KEY.test(key)) return `[REDACTED:${sensitiveKeyRule(key)}]`;
      return redactString(v);
    }
    if (v === null || typeof v !== 'object') return v;
    const cached = seen.get(v);
    if (cached !== undefined) return cached;
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      seen.set(v, out);
      for (const item of v) out.push(walk(item, key));
      return out;
    }
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) return v;
    const out: Record<string, unknown> = {};
    seen.set(v, out);
    for (const [k, item] of Object.entries(v)) {
      // A key can hold a secret too (`{"AKIA…": 1}`); it is redacted like a value, and a
      // redacted key that collides with another gets a number.
      let name = redactString(k);
      if (name !== k) for (let n = 2; Object.hasOwn(out, name) || Object.hasOwn(v, name); n++) name = `${redactString(k)}#${n}`;
      out[name] = walk(item, k);
    }
    return out;
  };
  return walk(value, undefined) as T;
}

function sensitiveKeyRule(key: string): string {
  return /pass/i.test(key) ? 'password-field' : 'secret-field';
}
