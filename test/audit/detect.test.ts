import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { AuditEvent, BusinessHours, DetectionMatch, SigmaRule } from '../../src/audit/index.js';
import { createDetector, inBusinessHours, parseSigmaRules, toDetectionFinding, toOcsf } from '../../src/audit/index.js';

const RULES_DIR = join(import.meta.dirname, '../../detections');
const FIXTURE = join(import.meta.dirname, '../fixtures/detections/cases.yaml');

interface Case {
  rule: string;
  description: string;
  fires: Array<Omit<AuditEvent, 'v' | 'seq'>>;
  fireSeqs?: number[];
  quiet: Array<Omit<AuditEvent, 'v' | 'seq'>>;
}
const fixture = parse(readFileSync(FIXTURE, 'utf8')) as { settings: { businessHours: BusinessHours; placeholders: Record<string, string[]> }; cases: Case[] };

function shippedRules(): SigmaRule[] {
  const rules: SigmaRule[] = [];
  for (const name of readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yml'))
    .sort()) {
    const parsed = parseSigmaRules(readFileSync(join(RULES_DIR, name), 'utf8'), `detections/${name}`);
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => e.message).join('\n'));
    rules.push(...parsed.value);
  }
  return rules;
}

function run(events: Case['fires'], rules = shippedRules()): DetectionMatch[] {
  const detector = createDetector(rules, fixture.settings);
  if (!detector.ok) throw new Error(detector.errors.map((e) => e.message).join('\n'));
  expect(detector.value.skipped).toEqual([]);
  return events.flatMap((e, i) => detector.value.push(toOcsf({ ...e, v: 1, seq: i + 1 } as AuditEvent)));
}

describe('shipped detections', () => {
  const rules = shippedRules();
  // A rule a correlation counts without `generate: true` reports nothing alone: its correlation's case covers it.
  const reporting = rules.filter((r) => !rules.some((c) => c.kind === 'correlation' && !c.generate && (c.rules.includes(r.name ?? '') || c.rules.includes(r.id ?? ''))));

  it('cover the seed list, each rule with a fixture case (the corpus cannot silently shrink)', () => {
    expect(reporting.map((r) => r.title).sort()).toEqual(fixture.cases.map((c) => c.rule).sort());
    expect(fixture.cases.length).toBe(9);
  });

  it.each(rules.map((r) => [r.title, r] as const))('%s: is a complete Sigma rule', (_title, rule) => {
    const raw = parse(readFileSync(join(RULES_DIR, rule.file.replace('detections/', '')), 'utf8').split(/^---$/m)[0] ?? '') as Record<string, unknown>;
    for (const key of ['title', 'id', 'status', 'description', 'author', 'date', 'level']) expect(raw[key], `${rule.file}: ${key}`).toBeDefined();
    expect(rule.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('have unique ids', () => {
    const ids = rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  describe.each(fixture.cases.map((c) => [c.rule, c] as const))('%s', (title, c) => {
    it(`fires: ${c.description}`, () => {
      const seqs = run(c.fires)
        .filter((m) => m.rule.title === title)
        .flatMap((m) => m.seqs);
      expect(seqs, c.description).toEqual(c.fireSeqs ?? c.fires.map((_, i) => i + 1));
    });
    it(`stays quiet: ${c.description}`, () => {
      expect(
        run(c.quiet).filter((m) => m.rule.title === title),
        c.description,
      ).toEqual([]);
    });
  });
});

const rule = (body: string) => parseSigmaRules(body, 'detections/bad.yml');
const BASE = 'title: T\nlogsource: { product: bastion }\n';

describe('parseSigmaRules', () => {
  it.each([
    ['not YAML', 'title: [', /^while loading `detections\/bad.yml`: line \d+, column \d+: /],
    ['no detection', 'title: T\n', /a Sigma rule needs `detection`/],
    ['a missing condition', `${BASE}detection:\n  selection: { a: 1 }\n`, /rule `T`: field `detection.condition`: is required/],
    [
      'an unknown search in the condition',
      `${BASE}detection:\n  selection: { a: 1 }\n  condition: selection and filter\n`,
      /line 5, column 14: rule `T`: field `detection.condition`: unknown search `filter`/,
    ],
    [
      'an unknown modifier',
      `${BASE}detection:\n  selection: { a|base64offset: x }\n  condition: selection\n`,
      /field `detection.selection.a\|base64offset`: unknown or unsupported modifier `base64offset`/,
    ],
    ['a bad level', `${BASE}level: severe\ndetection:\n  selection: { a: 1 }\n  condition: selection\n`, /rule `T`: field `level`: must be informational, low, medium, high or critical/],
    ['a bad id', `${BASE}id: 42\ndetection:\n  selection: { a: 1 }\n  condition: selection\n`, /field `id`: must be a UUID/],
    ['an unclosed parenthesis', `${BASE}detection:\n  a: { x: 1 }\n  b: { y: 1 }\n  condition: (a or b\n`, /a `\(` is not closed/],
    ['an aggregation', `${BASE}detection:\n  a: { x: 1 }\n  condition: a | count() > 5\n`, /aggregations .* are not supported: use a correlation rule/],
    ['a bad regex', `${BASE}detection:\n  a: { x|re: '(' }\n  condition: a\n`, /field `detection.a.x\|re`: `\(` is not a regular expression/],
    ['a bad CIDR', `${BASE}detection:\n  a: { ip|cidr: 10.0.0.0/99 }\n  condition: a\n`, /`10.0.0.0\/99` is not a CIDR network/],
    ['an unsupported correlation', 'title: C\ncorrelation:\n  type: temporal\n  rules: [a]\n  timespan: 5m\n  condition: { gte: 2 }\n', /field `correlation.type`: only `event_count` is supported/],
    ['a bad timespan', 'title: C\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: soon\n  condition: { gte: 2 }\n', /field `correlation.timespan`: must be a duration/],
  ])('reports %s naming the file and field, never throwing', (_what, body, message) => {
    const r = rule(body);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors[0]?.code).toBe('DETECTION_INVALID');
      expect(r.errors[0]?.message).toMatch(/^while loading `detections\/bad.yml`: /);
      expect(r.errors[0]?.message).toMatch(message);
    }
  });

  it('names the document of a multi-document file', () => {
    const r = rule(`${BASE}detection:\n  a: { x: 1 }\n  condition: a\n---\ntitle: Two\ndetection: { condition: a }\n`);
    expect(!r.ok && r.errors[0]?.message).toMatch(/document 2: rule `Two`: field `logsource`: is required/);
  });

  it('refuses two rules with one id', () => {
    const id = 'id: 11111111-2222-4333-8444-555555555555\n';
    const r = rule(`${BASE}${id}detection:\n  a: { x: 1 }\n  condition: a\n---\ntitle: U\n${id}logsource: { product: bastion }\ndetection:\n  a: { x: 2 }\n  condition: a\n`);
    const d = r.ok ? createDetector(r.value) : undefined;
    expect(d?.ok === false && d.errors[0]?.message).toBe(
      'while loading `detections/bad.yml`: rule `U`: field `id`: `11111111-2222-4333-8444-555555555555` is also the id of rule `T` in `detections/bad.yml`',
    );
  });

  it('refuses a correlation naming a rule that is not there', () => {
    const r = rule('title: C\ncorrelation:\n  type: event_count\n  rules: [nothing]\n  timespan: 5m\n  condition: { gte: 2 }\n');
    const d = r.ok ? createDetector(r.value) : undefined;
    expect(d?.ok === false && d.errors[0]?.message).toMatch(/rule `C`: field `correlation.rules`: no rule has the name or id `nothing`/);
  });
});

describe('evaluation', () => {
  const detect = (body: string, event: Record<string, unknown>, placeholders: Record<string, string[]> = {}) => {
    const r = rule(`${BASE}${body}`);
    if (!r.ok) throw new Error(r.errors[0]?.message);
    const d = createDetector(r.value, { placeholders });
    if (!d.ok) throw new Error(d.errors[0]?.message);
    return d.value.push({ metadata: { sequence: 7 }, time: Date.parse('2026-12-01T09:00:00Z'), ...event }).length > 0;
  };

  it('matches wildcards and modifiers case-insensitively, and `cased` exactly', () => {
    expect(detect('detection:\n  a: { api.operation: "Shell.*" }\n  condition: a\n', { api: { operation: 'shell.execute' } })).toBe(true);
    expect(detect('detection:\n  a: { api.operation|cased: "Shell.*" }\n  condition: a\n', { api: { operation: 'shell.execute' } })).toBe(false);
    expect(detect('detection:\n  a: { message|contains|all: [rm, "-rf"] }\n  condition: a\n', { message: 'rm -rf /' })).toBe(true);
    expect(detect('detection:\n  a: { message|contains|all: [rm, "-rf"] }\n  condition: a\n', { message: 'rm /' })).toBe(false);
    expect(detect('detection:\n  a: { message|endswith: "/" }\n  condition: a\n', { message: 'rm -rf /' })).toBe(true);
    expect(detect('detection:\n  a: { message|re|i: "^RM\\\\s" }\n  condition: a\n', { message: 'rm -rf /' })).toBe(true);
    expect(detect('detection:\n  a: { severity_id|gte: 4 }\n  condition: a\n', { severity_id: 3 })).toBe(false);
  });

  it('searches lists member by member and honours `1 of`, `all of them`, `not` and parentheses', () => {
    const event = { actor: { user: { groups: [{ name: 'sre' }, { name: 'admins' }] } }, x: 1 };
    expect(detect('detection:\n  a: { actor.user.groups.name: admins }\n  condition: a\n', event)).toBe(true);
    expect(detect('detection:\n  s_a: { x: 2 }\n  s_b: { x: 1 }\n  condition: 1 of s_*\n', event)).toBe(true);
    expect(detect('detection:\n  s_a: { x: 2 }\n  s_b: { x: 1 }\n  condition: all of them\n', event)).toBe(false);
    expect(detect('detection:\n  a: { x: 1 }\n  b: { x: 2 }\n  c: { y: 1 }\n  condition: not (b or c) and a\n', event)).toBe(true);
    expect(detect('detection:\n  keywords: [ADMINS]\n  condition: keywords\n', event)).toBe(true);
    // `them` leaves out searches named with a leading underscore.
    expect(detect('detection:\n  a: { x: 1 }\n  _helper: { x: 2 }\n  condition: all of them\n', event)).toBe(true);
  });

  it('expands placeholders, skipping a rule whose placeholder is not configured', () => {
    const body = 'detection:\n  a: { src_endpoint.ip|expand|cidr: "%nets%" }\n  condition: a\n';
    expect(detect(body, { src_endpoint: { ip: '10.1.2.3' } }, { nets: ['10.0.0.0/8'] })).toBe(true);
    expect(detect(body, { src_endpoint: { ip: '11.1.2.3' } }, { nets: ['10.0.0.0/8'] })).toBe(false);
    const r = rule(`${BASE}${body}`);
    const d = r.ok ? createDetector(r.value) : undefined;
    expect(d?.ok && d.value.skipped.map((s) => s.reason)).toEqual(['placeholder %nets% not configured']);
  });

  it('reports a placeholder value that is not a CIDR', () => {
    const r = rule(`${BASE}detection:\n  a: { ip|expand|cidr: "%nets%" }\n  condition: a\n`);
    const d = r.ok ? createDetector(r.value, { placeholders: { nets: ['nope'] } }) : undefined;
    expect(d?.ok === false && d.errors[0]?.message).toMatch(/rule `T`: field `detection.a`: `nope` is not a CIDR network/);
  });
});

describe('business hours', () => {
  const hours: BusinessHours = { start: '08:00', end: '18:00', timezone: 'Europe/Stockholm', days: ['mon', 'tue', 'wed', 'thu', 'fri'] };
  it.each([
    ['2026-12-01T07:00:00Z', true], // 08:00 in Stockholm (UTC+1), a Tuesday
    ['2026-12-01T06:59:00Z', false],
    ['2026-12-01T16:59:00Z', true],
    ['2026-12-01T17:00:00Z', false], // 18:00: the end is exclusive
    ['2026-07-01T06:30:00Z', true], // 08:30 in summer time (UTC+2)
    ['2026-12-05T10:00:00Z', false], // a Saturday
  ])('%s is in business hours: %s', (time, expected) => {
    expect(inBusinessHours(Date.parse(time), hours)).toBe(expected);
  });
});

describe('toDetectionFinding', () => {
  it('is an OCSF Detection Finding pointing at the events', () => {
    const matches = run(fixture.cases.find((c) => c.rule === 'Bastion blocked a tool call')?.fires ?? []);
    const blocked = matches.find((m) => m.rule.title === 'Bastion blocked a tool call');
    expect(blocked).toBeDefined();
    const f = toDetectionFinding(blocked as DetectionMatch, { logId: 'log-1' });
    expect(f).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      type_uid: 200401,
      severity_id: 2,
      severity: 'Low',
      time: Date.parse('2026-12-01T09:00:00.000Z'),
      actor: { user: { uid: 'agent-1' } },
      finding_info: { title: 'Bastion blocked a tool call', analytic: { uid: '93454b05-563b-4b6c-92d7-d59cca24bbc1', type: 'Rule' }, related_events: [{ uid: 'log-1:1' }] },
      unmapped: { rule_file: 'detections/blocked-tool-call.yml', seqs: [1], action: 'shell.execute' },
    });
  });
});
