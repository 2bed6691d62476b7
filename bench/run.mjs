#!/usr/bin/env node
// `npm run bench`: runs every bench/*.bench.mjs in its own process (isolating memory and
// any crash), each writing its figures to a JSON file; merges them into bench/results.json
// with the machine and Node version, and prints each benchmark's own report as it runs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
const tmp = mkdtempSync(join(tmpdir(), 'bastion-bench-'));
const results = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  benchmarks: {},
};
let failed = 0;
for (const file of files) {
  const name = file.replace(/\.bench\.mjs$/, '');
  const out = join(tmp, `${name}.json`);
  console.log(`\n=== ${name}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, file), out], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench ${name} failed (exit ${r.status ?? r.signal})`);
    results.benchmarks[name] = { error: `exit ${r.status ?? r.signal}` };
    continue;
  }
  try {
    results.benchmarks[name] = { ...JSON.parse(readFileSync(out, 'utf8')), seconds: Math.round((Date.now() - started) / 100) / 10 };
  } catch (err) {
    failed++;
    results.benchmarks[name] = { error: `no results: ${err.message}` };
  }
}
const target = join(here, only.length === 0 ? 'results.json' : 'results.partial.json');
writeFileSync(target, JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote ${target}`);
process.exitCode = failed > 0 ? 1 : 0;
