import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAnalyzer, parseAnalyzerConfig, type AnalyzerConfig } from '../../src/analysis/index.js';
import { riskRank } from '../../src/core/risk.js';
import type { ActionRequest } from '../../src/core/types.js';
import { type CorpusExpect, expectAnalysis, isHarmless } from '../helpers/corpus.js';

interface CommandCase {
  description: string;
  command: string;
  cwd?: string;
  expect: CorpusExpect;
}

interface RequestCase {
  description: string;
  config?: unknown;
  request: ActionRequest;
  expect: CorpusExpect & { source?: string };
}

const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/analysis/${name}`, import.meta.url), 'utf8')) as T;
const commands = load<CommandCase[]>('commands.json');
const requests = load<RequestCase[]>('requests.json');
const analyzer = await createAnalyzer();

// Each case's categories are exact: an extra fails unless the case lists it in `allowExtra`.
describe('shell corpus', () => {
  it('has at least 300 cases, 100 of them harmless', () => {
    expect(commands.length).toBeGreaterThanOrEqual(300);
    expect(commands.filter((c) => isHarmless(c.expect)).length).toBeGreaterThanOrEqual(100);
  });

  it.each(commands)('$description', (c) => {
    const r = analyzer.shell(c.command, c.cwd === undefined ? { home: '/home/user' } : { cwd: c.cwd, home: '/home/user' });
    expectAnalysis(r, c.expect, `${c.description}: ${JSON.stringify(c.command)} → ${r.risk} ${JSON.stringify(r.findings)}`);
  });
});

describe('analyze(request)', () => {
  it('has cases', () => expect(requests.length).toBeGreaterThanOrEqual(10));

  it.each(requests)('$description', async (c) => {
    let config: AnalyzerConfig = {};
    if (c.config !== undefined) {
      const parsed = parseAnalyzerConfig(c.config, 'test');
      expect(parsed.ok).toBe(true);
      if (parsed.ok) config = parsed.value;
    }
    const a = c.config === undefined ? analyzer : await createAnalyzer(config);
    const r = a.analyze(c.request);
    const detail = `${c.description}: ${JSON.stringify(r.findings)}`;
    expectAnalysis(r, c.expect, detail);
    if (c.expect.source !== undefined)
      expect(
        r.findings.map((f) => f.source),
        detail,
      ).toContain(c.expect.source);
    expect([...r.categories].sort(), 'categories are sorted and unique').toEqual([...new Set(r.categories)].sort());
  });
});

describe('shell analysis details', () => {
  it('reports commands with resolved argv, seen through wrappers', () => {
    const r = analyzer.shell("sudo r''m -rf /etc");
    expect(r.commands).toEqual([
      { program: 'sudo', argv: ['sudo', 'rm', '-rf', '/etc'] },
      { program: 'rm', argv: ['rm', '-rf', '/etc'] },
    ]);
  });

  it('resolves paths against the working directory', () => {
    const r = analyzer.shell('rm -rf build && cat .env', { cwd: '/srv/app' });
    expect(r.paths).toEqual([
      { path: '/srv/app/build', access: 'delete' },
      { path: '/srv/app/.env', access: 'read' },
    ]);
  });

  it('extracts egress hosts with their class', () => {
    const r = analyzer.shell('curl http://127.0.0.1:8080/x && curl https://evil.example/y');
    expect(r.hosts).toEqual([
      { host: '127.0.0.1', hostClass: 'loopback' },
      { host: 'evil.example', hostClass: 'public' },
    ]);
  });

  it('never throws on hostile input and fails closed on syntax errors', () => {
    for (const input of ['', '(((', 'if then fi', '$((', '\u0000rm', 'a'.repeat(200_000), '"unterminated']) {
      const r = analyzer.shell(input);
      expect(['low', 'medium', 'high', 'critical']).toContain(r.risk);
      if (!r.parsed) expect(riskRank(r.risk)).toBeGreaterThanOrEqual(riskRank('high'));
    }
    expect(analyzer.shell('"unterminated').parsed).toBe(false);
  });

  it('caches repeated (command, cwd) pairs and returns frozen results', () => {
    const a = analyzer.shell('ls -la', { cwd: '/srv' });
    const b = analyzer.shell('ls -la', { cwd: '/srv' });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
    expect(analyzer.shell('ls -la', { cwd: '/tmp' })).not.toBe(a);
  });

  it('uses the environment to resolve variables', () => {
    expect(analyzer.shell('rm -rf "$TARGET"', { env: { TARGET: '/etc' } }).risk).toBe('critical');
    expect(analyzer.shell('rm -rf "$TARGET"', { env: { TARGET: 'build' } }).risk).toBe('medium');
  });
});

describe('sql, path and url analyzers', () => {
  it('flags multi-statement strings and mongo calls', () => {
    expect(analyzer.sql('SELECT 1; DROP TABLE t').categories).toContain('db.destructive');
    expect(analyzer.sql('db.dropDatabase()').risk).toBe('critical');
    expect(analyzer.sql('db.users.deleteMany({})').risk).toBe('high');
    expect(analyzer.sql('db.users.deleteMany({age: 3})').risk).toBe('low');
    expect(analyzer.sql('ALTER TABLE t DROP COLUMN c').risk).toBe('high');
    expect(analyzer.sql('GRANT ALL ON t TO bob').categories).toContain('priv.escalate');
  });

  it('fails closed on SQL no grammar accepts', () => {
    const r = analyzer.sql('DROPP TABEL x;;; )(');
    expect(r.parsed).toBe(false);
    expect(r.risk).toBe('high');
  });

  it('matches allow lists on whole labels', () => {
    expect(analyzer.url('https://evilexample.com', { allow: ['example.com'] }).allowed).toBe(false);
    expect(analyzer.url('https://api.example.com', { allow: ['example.com'] }).allowed).toBe(true);
    expect(analyzer.url('https://x.bad.com', { deny: ['bad.com'] }).risk).toBe('critical');
  });

  it('flags traversal and process symlinks in paths', () => {
    expect(analyzer.path('../../etc/shadow', { cwd: '/srv/app' }).categories).toContain('secret.read');
    expect(analyzer.path('/proc/self/root/etc/passwd').risk).toBe('high');
    expect(analyzer.path('src/index.ts', { cwd: '/srv/app', access: 'write' }).risk).toBe('low');
  });
});

describe('parseAnalyzerConfig', () => {
  it('accepts a valid block', () => {
    const r = parseAnalyzerConfig({ actions: { 'db.*': { sql: ['args.statement'] } }, paths: { allowedRoots: ['/srv'] }, urls: { allow: ['example.com'] }, cacheSize: 10 }, '`bastion.yaml`');
    expect(r.ok && r.value.actions?.['db.*']?.sql).toEqual(['statement']);
  });

  it('rejects unknown analyzers and keys with located messages', () => {
    const r = parseAnalyzerConfig({ actions: { 'db.*': { mongo: ['x'] } }, extra: 1, paths: { allowedRoots: ['relative'] } }, '`bastion.yaml`');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      const messages = r.errors.map((e) => e.message);
      expect(messages).toContain('`bastion.yaml`: field `analyzers.actions.db.*.mongo`: unknown field `mongo` in the analyzers of an action (expected one of shell, sql, path, url)');
      expect(messages).toContain('`bastion.yaml`: field `analyzers.extra`: unknown field `extra` in analyzers (expected one of actions, paths, urls, cacheSize)');
      expect(messages.some((m) => m.includes('is not an absolute path'))).toBe(true);
      expect(r.errors.every((e) => e.code === 'CONFIG_INVALID')).toBe(true);
    }
  });
});
