/**
 * The personal-data scanner: e-mail addresses, phone numbers, payment card numbers (Luhn and
 * issuer prefix), IBANs (mod 97) and national ids where the format carries a check digit
 * (Spain, Italy, Netherlands, Brazil, China, India, Poland, Finland, Sweden) plus US social
 * security numbers next to a label. Ids that are bare digits are only reported next to their
 * label (`BSN`, `CPF`, `PESEL` …), since a checksum alone passes one random number in ten.
 */

import { bsnValid, chineseIdValid, codiceFiscaleValid, cpfValid, hetuValid, ibanValid, luhnValid, peselValid, personnummerValid, spanishIdValid, ssnPlausible, verhoeffValid } from './checksums.js';
import { maskValue } from './mask.js';
import type { PiiOptions, ScanFinding } from './types.js';
import { matchesAt, sticky } from './sticky.js';

const EMAIL_LOCAL = /[A-Za-z0-9._%+-]/;
const EMAIL_DOMAIN = /[A-Za-z0-9.-]/;
/** Domains reserved for documentation (RFC 2606) and file-name look-alikes (`icon@2x.png`). */
const NOT_A_MAILBOX_DOMAIN = /(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost)$|\.(?:png|jpe?g|gif|svg|webp|js|ts|css|json|ya?ml|md|lock)$/i;

function finding(rule: string, text: string, start: number, end: number, confidence: number): ScanFinding {
  return { type: 'pii', rule, start, end, confidence, evidence: maskValue(text.slice(start, end)) };
}

function findEmails(text: string, out: ScanFinding[]): void {
  let at = text.indexOf('@');
  while (at >= 0) {
    let s = at;
    while (s > 0 && s > at - 64 && EMAIL_LOCAL.test(text[s - 1] as string)) s--;
    let e = at + 1;
    while (e < text.length && e < at + 254 && EMAIL_DOMAIN.test(text[e] as string)) e++;
    while (e > at + 1 && (text[e - 1] === '.' || text[e - 1] === '-')) e--;
    while (s < at && text[s] === '.') s++;
    const local = text.slice(s, at);
    const domain = text.slice(at + 1, e);
    if (local !== '' && local !== 'git' && /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}$/.test(domain) && !NOT_A_MAILBOX_DOMAIN.test(domain)) {
      out.push(finding('email', text, s, e, 0.95));
    }
    at = text.indexOf('@', Math.max(e, at + 1));
  }
}

/**
 * What the digits in a text look like: the longest run of digits, the most digits in a group
 * joined by single spaces or hyphens (a card number), and whether two capitals precede two
 * digits (an IBAN). Each detector below needs some shape (13 digits in a group for a card, a
 * run of 17 for a Chinese id …), so a text without it skips that pattern: skipping never loses
 * a finding, and most prose skips nearly all of them. One native regex finds the digit runs
 * (a JavaScript loop over every character costs more than the patterns it would save), and the
 * walk stops as soon as every shape is present.
 */
interface DigitShape {
  longestRun: number;
  cardDigits: number;
  ibanStart: boolean;
}

const DIGIT_RUN = /[0-9]+/g;

function isCapital(c: number): boolean {
  return c >= 65 && c <= 90;
}

function digitShape(text: string): DigitShape {
  let longestRun = 0;
  let cardDigits = 0;
  let ibanStart = false;
  let group = 0;
  let previousEnd = -2;
  DIGIT_RUN.lastIndex = 0;
  for (let m = DIGIT_RUN.exec(text); m !== null; m = DIGIT_RUN.exec(text)) {
    const start = m.index;
    const length = m[0].length;
    if (length > longestRun) longestRun = length;
    const gap = text.charCodeAt(start - 1);
    group = start === previousEnd + 1 && (gap === 32 || gap === 45) ? group + length : length;
    if (group > cardDigits) cardDigits = group;
    if (!ibanStart && length >= 2 && start >= 2 && isCapital(gap) && isCapital(text.charCodeAt(start - 2))) ibanStart = true;
    previousEnd = start + length;
    if (longestRun >= 17 && cardDigits >= 13 && ibanStart) break;
  }
  DIGIT_RUN.lastIndex = 0;
  return { longestRun, cardDigits, ibanStart };
}

const CAPITALS_SHAPE = /[A-Z]{6}/;

const CARD = /(?<![0-9A-Za-z-])[0-9](?:[0-9]|[ -](?=[0-9])){12,22}(?![0-9A-Za-z])/g;
const CARD_PREFIX = /^(?:4|5[1-5]|2(?:2[2-9]|[3-6][0-9]|7[01])|3[47]|6(?:011|5|4[4-9]|2)|3(?:5|0[0-5]|6|8))/;

function findCards(text: string, out: ScanFinding[]): void {
  for (const m of text.matchAll(CARD)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19 || !CARD_PREFIX.test(digits) || /^(\d)\1+$/.test(digits)) continue;
    if (!luhnValid(digits)) continue;
    out.push(finding('card-number', text, m.index, m.index + m[0].length, 0.9));
  }
}

const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[A-Z0-9]|[ ](?=[A-Z0-9])){11,40}(?![A-Za-z0-9])/g;

function findIbans(text: string, out: ScanFinding[]): void {
  for (const m of text.matchAll(IBAN)) {
    // Spaces group by four; a longer match may have swallowed a following word.
    let value = m[0];
    let compact = value.replace(/ /g, '');
    while (compact.length > 15 && !ibanValid(compact) && value.includes(' ')) {
      value = value.slice(0, value.lastIndexOf(' '));
      compact = value.replace(/ /g, '');
    }
    if (ibanValid(compact)) out.push(finding('iban', text, m.index, m.index + value.length, 0.97));
  }
}

const PHONE_E164 = /(?<![\w+])\+[1-9][0-9 ().-]{6,20}[0-9](?![0-9])/g;
const PHONE_NANP = /(?<![\w(])(?:\([2-9][0-9]{2}\) ?[0-9]{3}[ .-][0-9]{4}|[2-9][0-9]{2}([.-])[0-9]{3}\1[0-9]{4})(?![\w])/g;
const PHONE_LABELLED = /(?:phone|mobile|cell|tel|telefon|téléphone|teléfono|telefono|handy)[a-zé]{0,6}\.?[ \t]{0,3}(?:no\.?|nr\.?|number|:)?[ \t:]{0,3}([0-9(][0-9 ()/.-]{5,18}[0-9])/gi;

const PHONE_LABELLED_AT = sticky(PHONE_LABELLED);

function phoneDigitsOk(value: string): boolean {
  const digits = value.replace(/[^0-9]/g, '');
  return digits.length >= 7 && digits.length <= 15 && !/[ .-]{2}/.test(value) && !/^(\d)\1+$/.test(digits);
}

function findPhones(text: string, out: ScanFinding[], shape: DigitShape, labelHits: LabelStarts | undefined): void {
  if (text.includes('+'))
    for (const m of text.matchAll(PHONE_E164)) {
      if (phoneDigitsOk(m[0]) && m[0].replace(/[^0-9]/g, '').length >= 8) out.push(finding('phone', text, m.index, m.index + m[0].length, 0.85));
    }
  if (shape.longestRun >= 4) for (const m of text.matchAll(PHONE_NANP)) out.push(finding('phone', text, m.index, m.index + m[0].length, 0.7));
  for (const m of labelHits === undefined ? text.matchAll(PHONE_LABELLED) : matchesAt(text, PHONE_LABELLED_AT, labelHits[0] as number[])) {
    const value = m[1] as string;
    if (!phoneDigitsOk(value)) continue;
    const start = m.index + m[0].length - value.length;
    out.push(finding('phone', text, start, start + value.length, 0.8));
  }
}

interface IdRule {
  rule: string;
  /**
   * Global patterns, each run over the text; group 1 (when present) is the id. A bare form and
   * a labelled form are separate patterns: in one case-insensitive alternation, V8 tries the
   * whole pattern at every offset (the Aadhaar pattern took 7 ms per MB, its two halves 0.5 ms),
   * and the two forms cannot overlap, so their matches are those of the alternation.
   */
  patterns: readonly RegExp[];
  valid: (value: string) => boolean;
  confidence: number;
  /** A run of consecutive digits every match contains: texts without one skip the rule. */
  digitRun: number;
  /** Whether a match needs six capital letters in a row. */
  capitals?: boolean;
}

const plausibleDate = (yyyymmdd: string): boolean => {
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
};

const ID_RULES: readonly IdRule[] = [
  { rule: 'es-dni', patterns: [/(?<![A-Za-z0-9])[XYZ]?[0-9]{7,8}-?[A-Z](?![A-Za-z0-9])/g], valid: (v) => spanishIdValid(v.replace('-', '')), confidence: 0.8, digitRun: 7 },
  {
    rule: 'it-codice-fiscale',
    patterns: [/(?<![A-Za-z0-9])[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z](?![A-Za-z0-9])/g],
    valid: codiceFiscaleValid,
    confidence: 0.95,
    digitRun: 0,
    capitals: true,
  },
  { rule: 'nl-bsn', patterns: [/\b(?:bsn|burgerservicenummer)\b[^0-9\n]{0,20}([0-9]{9})(?![0-9])/gi], valid: bsnValid, confidence: 0.9, digitRun: 9 },
  { rule: 'br-cpf', patterns: [/(?<![0-9.])([0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2})(?![0-9])/g, /\bcpf\b[^0-9\n]{0,20}([0-9]{11})(?![0-9])/gi], valid: cpfValid, confidence: 0.9, digitRun: 3 },
  {
    rule: 'cn-resident-id',
    patterns: [/(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{9}[0-9X](?![0-9A-Za-z])/g],
    valid: (v) => chineseIdValid(v) && plausibleDate(v.slice(6, 14)),
    confidence: 0.9,
    digitRun: 17,
  },
  {
    rule: 'in-aadhaar',
    patterns: [/(?<![0-9])([2-9][0-9]{3} [0-9]{4} [0-9]{4})(?![0-9])/g, /\baadhaar\b[^0-9\n]{0,20}([2-9][0-9]{11})(?![0-9])/gi],
    valid: (v) => verhoeffValid(v.replace(/ /g, '')),
    confidence: 0.85,
    digitRun: 4,
  },
  { rule: 'pl-pesel', patterns: [/\bpesel\b[^0-9\n]{0,20}([0-9]{11})(?![0-9])/gi], valid: peselValid, confidence: 0.9, digitRun: 11 },
  { rule: 'fi-hetu', patterns: [/(?<![0-9A-Za-z])[0-3][0-9][01][0-9]{3}[-+A-FU-Y][0-9]{3}[0-9A-Y](?![0-9A-Za-z])/g], valid: hetuValid, confidence: 0.9, digitRun: 6 },
  {
    rule: 'se-personnummer',
    patterns: [/(?<![0-9A-Za-z])(?:19|20)?[0-9]{2}[01][0-9][0-3][0-9][-+][0-9]{4}(?![0-9A-Za-z])/g],
    valid: (v) => personnummerValid(v) && plausibleDate('20' + v.replace(/[-+]/g, '').slice(-10, -4)),
    confidence: 0.75,
    digitRun: 6,
  },
  { rule: 'us-ssn', patterns: [/\b(?:ssn|social security(?: number| no\.?)?)\b[^0-9\n]{0,20}([0-9]{3}-[0-9]{2}-[0-9]{4})(?![0-9])/gi], valid: ssnPlausible, confidence: 0.85, digitRun: 4 },
];

/**
 * The labelled patterns' labels, which every match starts with: when all scanners run, the
 * shared keyword walk (scan-text.ts) finds them, and each pattern is tried only there instead
 * of across the whole text. Each label is `[keyword, label pattern, offset of the match start
 * from the keyword]`; label pattern 0 is the labelled phone number (`téléphone` ends in `phone`).
 */
const LABELS: readonly (readonly [string, RegExp, number])[] = [
  ['phone', PHONE_LABELLED, 0],
  ['phone', PHONE_LABELLED, -4],
  ['mobile', PHONE_LABELLED, 0],
  ['cell', PHONE_LABELLED, 0],
  ['tel', PHONE_LABELLED, 0],
  ['handy', PHONE_LABELLED, 0],
  ...(
    [
      ['bsn', 'nl-bsn', 0],
      ['burgerservicenummer', 'nl-bsn', 0],
      ['cpf', 'br-cpf', 1],
      ['aadhaar', 'in-aadhaar', 1],
      ['pesel', 'pl-pesel', 0],
      ['ssn', 'us-ssn', 0],
      ['social security', 'us-ssn', 0],
    ] as const
  ).map(([word, rule, index]) => [word, (ID_RULES.find((r) => r.rule === rule) as IdRule).patterns[index] as RegExp, 0] as const),
];
const LABEL_PATTERNS: readonly RegExp[] = [...new Set(LABELS.map((l) => l[1]))];
const LABEL_STICKY = new Map(LABEL_PATTERNS.map((p) => [p, sticky(p)]));
/** The label keywords, in the order the hits given to {@link findPii} number them. */
export const PII_KEYWORDS: readonly string[] = [...new Set(LABELS.map((l) => l[0]))];

/** For each labelled pattern (by index in LABEL_PATTERNS), where it may match. */
type LabelStarts = (number[] | undefined)[];

/** For each label keyword, the labelled patterns (by index) it starts and the offsets. */
const LABELS_BY_KEYWORD: readonly (readonly [number, number])[][] = PII_KEYWORDS.map((word) => LABELS.filter((l) => l[0] === word).map((l) => [LABEL_PATTERNS.indexOf(l[1]), l[2]] as const));

function labelStarts(hits: readonly number[]): LabelStarts {
  const starts: LabelStarts = LABEL_PATTERNS.map(() => []);
  for (let h = 0; h < hits.length; h += 2) {
    const p = hits[h + 1] as number;
    for (const [pattern, offset] of LABELS_BY_KEYWORD[hits[h] as number] as (readonly [number, number])[]) {
      if (p + offset >= 0) (starts[pattern] as number[]).push(p + offset);
    }
  }
  return starts;
}

function findNationalIds(text: string, out: ScanFinding[], shape: DigitShape, labelHits: LabelStarts | undefined): void {
  for (const r of ID_RULES) {
    if (shape.longestRun < r.digitRun || (r.capitals === true && !CAPITALS_SHAPE.test(text))) continue;
    for (const pattern of r.patterns) {
      const at = labelHits === undefined ? -1 : LABEL_PATTERNS.indexOf(pattern);
      const matches = at < 0 ? text.matchAll(pattern) : matchesAt(text, LABEL_STICKY.get(pattern) as RegExp, (labelHits as LabelStarts)[at] as number[]);
      for (const m of matches) {
        const value = m[1] ?? m[0];
        if (!r.valid(value)) continue;
        const start = m.index + m[0].lastIndexOf(value);
        out.push(finding(r.rule, text, start, start + value.length, r.confidence));
      }
    }
  }
}

/** Rule ids of the personal-data scanner. */
export const PII_RULE_IDS: readonly string[] = ['email', 'phone', 'card-number', 'iban', ...ID_RULES.map((r) => r.rule)];

/**
 * Finds personal data; each detector is on unless switched off in `options`.
 *
 * @param keywordHits hits of {@link PII_KEYWORDS} in `text` (`[keyword, start, …]`), when a
 *   caller walked the text once for several scanners
 * @example findPii('mail jane.doe@acme.io')[0]?.rule // 'email'
 */
export function findPii(text: string, options: PiiOptions = {}, keywordHits?: readonly number[]): ScanFinding[] {
  const out: ScanFinding[] = [];
  const labelHits = keywordHits === undefined ? undefined : labelStarts(keywordHits);
  if (options.email !== false && text.includes('@')) findEmails(text, out);
  const shape = digitShape(text);
  if (shape.longestRun === 0) return out;
  if (options.card !== false && shape.cardDigits >= 13) findCards(text, out);
  if (options.iban !== false && shape.ibanStart) findIbans(text, out);
  if (options.nationalId !== false) findNationalIds(text, out, shape, labelHits);
  if (options.phone !== false) findPhones(text, out, shape, labelHits);
  // A card or id number also looks like a phone number: keep the first, most specific finding.
  out.sort((a, b) => a.start - b.start || b.confidence - a.confidence);
  const kept: ScanFinding[] = [];
  for (const f of out) {
    const last = kept[kept.length - 1];
    if (last !== undefined && f.start < last.end) {
      if (f.confidence > last.confidence) kept[kept.length - 1] = f;
      continue;
    }
    kept.push(f);
  }
  return kept;
}
