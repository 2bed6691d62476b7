/**
 * The README's "Model-API proxy" section works as printed: its Node snippets and curl lines
 * run against `examples/proxy/fake-provider.mjs` and a real `bastion serve` (ports changed
 * to ones the test picked), and print what the README says they print.
 */

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type Served } from '../server/serve-process.js';

const root = new URL('../..', import.meta.url).pathname;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Model-API proxy'), readme.indexOf('### Claude Code'));

let provider: ChildProcess;
let providerUrl = '';
let bastion: Served;
let dataDir: string;
let scratch: string;

beforeAll(async () => {
  provider = spawn(process.execPath, [join(root, 'examples/proxy/fake-provider.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  providerUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    provider.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    provider.once('exit', (code) => reject(new Error(`fake provider exited ${code}`)));
  });
  dataDir = mkdtempSync(join(tmpdir(), 'bastion-readme-proxy-'));
  bastion = await serve(['--policy', join(root, 'examples/control-zero'), '--dev', '--upstream', providerUrl, '--data-dir', dataDir]);
  // Inside the checkout, so the snippets' imports resolve to its node_modules.
  scratch = mkdtempSync(join(root, '.readme-proxy-'));
}, 30_000);
afterAll(async () => {
  await bastion?.stop();
  provider?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

/** The README's addresses, pointed at this test's servers. */
const localize = (text: string) => text.replaceAll('http://127.0.0.1:8700', bastion.url).replaceAll('http://127.0.0.1:8790/v1', providerUrl);

/** The fenced blocks of the section: language and text, in order. */
const blocks = [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] as string, text: m[2] as string }));

/** A README comment line as a pattern: `…` stands for anything. */
const pattern = (expected: string) =>
  new RegExp(
    `^${expected
      .split('…')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );

describe('README: Model-API proxy', () => {
  it('has its snippets', () => {
    expect(blocks.filter((b) => b.lang === 'js')).toHaveLength(2);
    expect(blocks.filter((b) => b.lang === 'sh')).toHaveLength(2);
  });

  blocks.forEach((b, i) => {
    if (b.lang !== 'js') return;
    it(`Node snippet ${i} prints what the README says`, () => {
      const file = join(scratch, `snippet-${i}.mjs`);
      writeFileSync(file, localize(b.text));
      const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
      const expected = blocks[i + 1];
      expect(expected?.lang).toBe('');
      expect(out).toBe(expected?.text);
    });
  });

  it('the curl lines answer what their comments say', () => {
    const sh = blocks.filter((b) => b.lang === 'sh')[1]?.text ?? '';
    const commands = sh.replace(/\\\n\s*/g, '').split('\n');
    let checked = 0;
    commands.forEach((line, k) => {
      const next = commands[k + 1];
      if (!line.startsWith('curl ') || next === undefined || !next.startsWith('# ')) return;
      const out = execFileSync('bash', ['-c', localize(line)], { encoding: 'utf8', timeout: 20_000 });
      expect(out, line).toMatch(pattern(next.slice(2)));
      checked++;
    });
    expect(checked).toBe(2);
  });
});
