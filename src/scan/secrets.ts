/**
 * The secret scanner: one keyword pass over the text (see keyword-automaton.ts), then each
 * rule whose keyword occurs is tried where it occurs, its candidate gated by the allowlist,
 * entropy and checksum, and overlapping candidates resolved in favour of the most specific
 * rule.
 */

import { isAllowlistedSecret } from './allowlist.js';
import { shannonEntropy } from './entropy.js';
import { KeywordAutomaton } from './keyword-automaton.js';
import { encodedRuns, MAX_DEPTH } from './encoded.js';
import { maskValue } from './mask.js';
import { SECRET_RULES } from './secret-rules.js';
import type { SecretRule } from './secret-rules.js';
import { secretView } from './secret-view.js';
import type { ScanFinding } from './types.js';

interface CompiledRule {
  rule: SecretRule;
  regex: RegExp;
  back: number;
  /** The rule's `unless` pattern, compiled like `regex`. */
  shortcut: RegExp | undefined;
}

const COMPILED: readonly CompiledRule[] = SECRET_RULES.map((rule) => ({
  rule,
  regex: new RegExp(rule.pattern, `yd${rule.flags ?? ''}`),
  back: rule.back ?? 0,
  shortcut: rule.unless === undefined ? undefined : new RegExp(rule.unless.pattern, `yd${rule.flags ?? ''}`),
}));

/**
 * The next occurrence of a literal at or after a position, for one text. Positions arrive
 * nearly in order, and the answer for `from` holds for every position up to it, so the text is
 * searched about once per literal, not once per keyword hit (thousands of `-----BEGIN` without
 * an END would otherwise make each search run to the end of the text).
 */
class NextOccurrence {
  private readonly memo = new Map<string, { from: number; found: number }>();
  constructor(private readonly text: string) {}

  at(literal: string, position: number): number {
    const m = this.memo.get(literal);
    if (m !== undefined && m.from <= position && (m.found < 0 || m.found >= position)) return m.found;
    const found = this.text.indexOf(literal, position);
    this.memo.set(literal, { from: position, found });
    return found;
  }
}

const KEYWORDS: string[] = [];
/** For each keyword index, the rules it triggers. */
const KEYWORD_RULES: number[][] = [];
{
  const byKeyword = new Map<string, number[]>();
  COMPILED.forEach((c, ruleIndex) => {
    for (const keyword of c.rule.keywords) {
      const list = byKeyword.get(keyword) ?? [];
      list.push(ruleIndex);
      byKeyword.set(keyword, list);
    }
  });
  for (const [keyword, rules] of byKeyword) {
    KEYWORDS.push(keyword);
    KEYWORD_RULES.push(rules);
  }
}

const AUTOMATON = new KeywordAutomaton(KEYWORDS);

/** The ids of every secret rule, for documentation and tests. */
export const SECRET_RULE_IDS: readonly string[] = SECRET_RULES.map((r) => r.id);

/** The span of the secret in a match: the first capturing group that took part, or all of it. */
function secretSpan(m: RegExpExecArray): [number, number] {
  const indices = m.indices;
  if (indices !== undefined) {
    for (let g = 1; g < indices.length; g++) {
      const span = indices[g];
      if (span !== undefined) return [span[0], span[1]];
    }
  }
  return [m.index, m.index + m[0].length];
}

function tryRule(text: string, compiled: CompiledRule, position: number, next: NextOccurrence): ScanFinding | undefined {
  const { rule } = compiled;
  let regex = compiled.regex;
  if (compiled.shortcut !== undefined && rule.unless !== undefined) {
    const found = next.at(rule.unless.literal, position);
    if (found < 0 || found > position + rule.unless.within) regex = compiled.shortcut;
  }
  regex.lastIndex = position;
  const m = regex.exec(text);
  if (m === null) return undefined;
  const [start, end] = secretSpan(m);
  const value = text.slice(start, end);
  // The gates are a conjunction; the rule's own check goes first because for the generic
  // rules it is the cheap one that most candidates fail (`api_key=api_key=…`).
  if (rule.check !== undefined && !rule.check(value, m)) return undefined;
  if (rule.minEntropy !== undefined && shannonEntropy(value) < rule.minEntropy) return undefined;
  if (!rule.keyMaterial && isAllowlistedSecret(value)) return undefined;
  const confidence = rule.verify === undefined || rule.verify(value) ? rule.confidence : rule.unverifiedConfidence;
  if (confidence === undefined) return undefined;
  return { type: 'secret', rule: rule.id, start, end, confidence, evidence: maskValue(value) };
}

/** Better candidate for the same span: specific over generic, then confidence, then length. */
function better(a: ScanFinding, aGeneric: boolean, b: ScanFinding, bGeneric: boolean): boolean {
  if (aGeneric !== bGeneric) return !aGeneric;
  if (a.confidence !== b.confidence) return a.confidence > b.confidence;
  return a.end - a.start > b.end - b.start;
}

interface Candidate {
  finding: ScanFinding;
  generic: boolean;
}

/**
 * Finds credentials in text, and in what the text reads as: its normalised view (escapes
 * decoded, invisible characters dropped, fullwidth forms folded, spaced-out runs joined: see
 * secret-view.ts) and the base64 and hex runs in it that decode to text or to a private key
 * (encoded.ts). Offsets index the original text; a finding in the view or in a decoded run
 * covers the original characters it came from (the whole run for a decoded one). Evidence is
 * masked.
 *
 * @example findSecrets('key AKIAZ7VQ3XKPL2M4N5TR')[0]?.rule // 'aws-access-key'
 * @example findSecrets('key AKIAZ7VQ\u200b3XKPL2M4N5TR')[0]?.rule // 'aws-access-key'
 */
export function findSecrets(text: string): ScanFinding[] {
  return findAtDepth(text, undefined, 0).map((c) => c.finding);
}

/** The keywords of every rule, in the order {@link findSecretsAt} numbers them. */
export const SECRET_KEYWORDS: readonly string[] = KEYWORDS;

/**
 * Finds credentials given the keyword hits in the text, as `[keyword, start, …]` pairs over
 * {@link SECRET_KEYWORDS}, for a caller that walked the text once for several scanners.
 */
export function findSecretsAt(text: string, hits: readonly number[]): ScanFinding[] {
  return findAtDepth(text, hits, 0).map((c) => c.finding);
}

/** `hits`: the text's keyword hits when the caller has them, else they are found here if needed. */
function findAtDepth(text: string, hits: readonly number[] | undefined, depth: number): Candidate[] {
  const view = secretView(text);
  // A view that only dropped or folded non-ASCII characters holds every match of the text.
  const candidates = view?.unicodeOnly === true ? [] : candidatesAt(text, hits ?? AUTOMATON.scanPairs(text));
  const inView = view === undefined ? [] : resolve(candidatesAt(view.text, AUTOMATON.scanPairs(view.text)));
  if (view !== undefined) {
    for (const c of inView) {
      const start = view.start[c.finding.start] as number;
      const end = view.end[c.finding.end - 1] as number;
      candidates.push({ finding: { ...c.finding, start, end }, generic: c.generic });
    }
  }
  const kept = resolve(candidates);
  if (depth >= MAX_DEPTH) return kept;
  // Encoded runs are looked for where the text reads as itself: in the view when there is one.
  const source = view?.text ?? text;
  const covered = (view === undefined ? kept : inView).map((c) => c.finding);
  const decoded: Candidate[] = [];
  for (const run of encodedRuns(source, covered)) {
    const start = view === undefined ? run.start : (view.start[run.start] as number);
    const end = view === undefined ? run.end : (view.end[run.end - 1] as number);
    if (run.privateKey === true) {
      decoded.push({ finding: { type: 'secret', rule: 'private-key', start, end, confidence: 0.9, evidence: `${run.encoding}: ${maskValue(source.slice(run.start, run.end))}` }, generic: false });
      continue;
    }
    const inner = findAtDepth(run.text as string, undefined, depth + 1);
    const best = inner.reduce<Candidate | undefined>((b, c) => (b === undefined || better(c.finding, c.generic, b.finding, b.generic) ? c : b), undefined);
    if (best !== undefined) decoded.push({ finding: { ...best.finding, start, end, evidence: `${run.encoding}: ${best.finding.evidence ?? 'masked'}` }, generic: best.generic });
  }
  return decoded.length === 0 ? kept : resolve([...kept, ...decoded]);
}

function candidatesAt(text: string, hits: readonly number[]): Candidate[] {
  if (hits.length === 0) return [];
  const tried = new Set<number>();
  const next = new NextOccurrence(text);
  const candidates: Candidate[] = [];
  const ruleCount = COMPILED.length;
  // Per rule, where its last finding ends. A hit inside a rule's own finding is not tried
  // again: its match would overlap that finding and at best replace it with one a little
  // longer, and trying it costs the whole value again at every keyword of `password:password:…`.
  const foundEnd = new Int32Array(ruleCount);
  for (let h = 0; h < hits.length; h += 2) {
    const start = hits[h + 1] as number;
    for (const ruleIndex of KEYWORD_RULES[hits[h] as number] as number[]) {
      const compiled = COMPILED[ruleIndex] as CompiledRule;
      const position = start - compiled.back;
      if (position < 0 || position < (foundEnd[ruleIndex] as number)) continue;
      const key = position * ruleCount + ruleIndex;
      if (tried.has(key)) continue;
      tried.add(key);
      const finding = tryRule(text, compiled, position, next);
      if (finding === undefined) continue;
      candidates.push({ finding, generic: compiled.rule.generic === true });
      foundEnd[ruleIndex] = finding.end;
    }
  }
  return candidates;
}

/** Overlapping candidates resolved in favour of the better one; the result is sorted by start. */
function resolve(candidates: Candidate[]): Candidate[] {
  candidates.sort((a, b) => a.finding.start - b.finding.start || b.finding.end - a.finding.end);
  const kept: Candidate[] = [];
  for (const c of candidates) {
    const last = kept[kept.length - 1];
    if (last !== undefined && c.finding.start < last.finding.end) {
      if (better(c.finding, c.generic, last.finding, last.generic)) kept[kept.length - 1] = c;
      continue;
    }
    kept.push(c);
  }
  return kept;
}
