// Action-analysis benchmark: detection quality on the labelled corpus (Bastion side by side
// with the seeds' substring rules), speed on 10,000 realistic agent commands without the
// cache, and heap growth over many analyses (parser trees must be freed).
// Usage: node bench/analysis.bench.mjs <out.json>   (run `npm run build` first)

import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createAnalyzer } from '../dist/analysis/index.js';

const RANK = { low: 0, medium: 1, high: 2, critical: 3 };
const corpus = JSON.parse(readFileSync(new URL('../test/fixtures/analysis/commands.json', import.meta.url), 'utf8'));
// A case names its risk exactly (`risk`) or as a range (`minRisk`, `maxRisk`).
const dangerous = corpus.filter((c) => RANK[c.expect.risk ?? c.expect.minRisk] >= RANK.high);
const harmless = corpus.filter((c) => (c.expect.risk ?? c.expect.maxRisk) !== undefined && RANK[c.expect.risk ?? c.expect.maxRisk] <= RANK.medium);

// The seeds' rules, verbatim.
const SEEDS = {
  'capfence (seed 001 deny list)': (cmd) => ['rm -rf', 'dd if=', 'chmod 777', 'curl', 'wget'].some((p) => cmd.includes(p)),
  'control zero (seed 000)': (cmd) => ['rm -rf', 'drop', 'delete'].some((p) => cmd.includes(p)),
  'harness (seed 003 blocked list)': (cmd) => ['rm -rf', 'sudo', 'chmod 777', 'curl | bash', 'eval'].some((p) => cmd.includes(p)),
};

function quality(flag) {
  const caught = dangerous.filter((c) => flag(c));
  const flagged = harmless.filter((c) => flag(c));
  return { recall: caught.length / dangerous.length, falsePositiveRate: flagged.length / harmless.length, missed: dangerous.filter((c) => !flag(c)).map((c) => c.command) };
}

const analyzer = await createAnalyzer();
const bastionFlag = (c) => RANK[analyzer.shell(c.command, { cwd: c.cwd, home: '/home/user' }).risk] >= RANK.high;
const results = { corpus: { dangerous: dangerous.length, harmless: harmless.length }, quality: {} };
const bq = quality(bastionFlag);
results.quality.bastion = { recall: bq.recall, falsePositiveRate: bq.falsePositiveRate };
for (const [name, rule] of Object.entries(SEEDS)) {
  const q = quality((c) => rule(c.command));
  results.quality[name] = { recall: q.recall, falsePositiveRate: q.falsePositiveRate };
}

// 10,000 realistic agent commands: templates over varied file names, so the cache cannot help.
const TEMPLATES = [
  'ls -la {d}',
  'cat {d}/{f}.ts',
  'grep -rn "{w}" {d}',
  'git status',
  'git diff {d}/{f}.ts',
  'git log --oneline -n {n}',
  'npm test -- {f}',
  'npm run build',
  'npx vitest run {d}/{f}.test.ts',
  'node scripts/{f}.js',
  'python3 -m pytest tests/test_{f}.py -q',
  'find {d} -name "*.{e}" -type f',
  'sed -n "{n},+20p" {d}/{f}.{e}',
  'head -n {n} {d}/{f}.{e}',
  'wc -l {d}/*.{e}',
  'mkdir -p {d}/{f} && touch {d}/{f}/index.ts',
  'rm -rf {d}/{f}/dist',
  'cd {d} && npm install',
  'echo "{w}" >> notes/{f}.md',
  'curl -s https://api.github.com/repos/{w}/{f}',
  'docker ps --filter name={f}',
  'kubectl get pods -n {w}',
  'git add {d}/{f}.ts && git commit -m "fix {w} in {f}"',
  'tsc -p tsconfig.json --noEmit',
  'cat package.json | jq .scripts',
  'rg -n "{w}" {d} | head -n {n}',
  'python3 -c "print({n})"',
  'for f in {d}/*.{e}; do echo $f; done',
  'test -f {d}/{f}.{e} && echo ok',
  'tar czf /tmp/{f}.tgz {d}',
];
const WORDS = ['auth', 'login', 'cache', 'parser', 'router', 'billing', 'users', 'search', 'queue', 'config'];
const DIRS = ['src', 'lib', 'test', 'app/models', 'packages/core/src', 'docs', 'scripts'];
const EXTS = ['ts', 'js', 'py', 'md', 'json', 'go'];
let seed = 42;
// xorshift32: deterministic and exact in 32-bit integer arithmetic.
const rnd = (n) => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) % n;
};
function makeCommand(i) {
  return TEMPLATES[i % TEMPLATES.length]
    .replaceAll('{d}', DIRS[rnd(DIRS.length)])
    .replaceAll('{f}', `${WORDS[rnd(WORDS.length)]}_${i}`)
    .replaceAll('{w}', WORDS[rnd(WORDS.length)])
    .replaceAll('{e}', EXTS[rnd(EXTS.length)])
    .replaceAll('{n}', String(1 + rnd(200)));
}
const commands = Array.from({ length: 10_000 }, (_, i) => makeCommand(i));

const cold = await createAnalyzer({ cacheSize: 0 });
for (let i = 0; i < 1000; i++) cold.shell(commands[i], { cwd: '/home/user/project' }); // warm up the JIT
// Wall time and CPU time per call: on a shared machine the scheduler's time slices (ms)
// dominate the wall-clock tail; CPU time shows what the analyzer itself costs.
const times = new Float64Array(commands.length);
const cpu = new Float64Array(commands.length);
for (let i = 0; i < commands.length; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  cold.shell(commands[i], { cwd: '/home/user/project' });
  times[i] = (performance.now() - t0) * 1000;
  const c1 = process.cpuUsage(c0);
  cpu[i] = c1.user + c1.system;
}
times.sort();
cpu.sort();
const pct = (arr, p) => arr[Math.min(arr.length - 1, Math.floor(p * arr.length))];
results.speed = {
  commands: commands.length,
  medianMicros: pct(times, 0.5),
  p99Micros: pct(times, 0.99),
  maxMicros: times[times.length - 1],
  cpuMedianMicros: pct(cpu, 0.5),
  cpuP99Micros: pct(cpu, 0.99),
};

const cached = await createAnalyzer();
const t0 = performance.now();
for (let r = 0; r < 10; r++) for (const c of commands.slice(0, 1000)) cached.shell(c, { cwd: '/home/user/project' });
results.speed.cachedMicros = ((performance.now() - t0) * 1000) / 10_000;

// Memory: many analyses through the default (bounded) cache with mostly distinct commands.
const ITERATIONS = Number(process.env.BASTION_BENCH_ANALYSES ?? 1_000_000);
const mem = await createAnalyzer();
const heap = () => {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
};
// A pool of 15,000 distinct commands drawn at random: about a third miss the 10,000-entry
// cache, so hundreds of thousands of trees are created and must be freed.
const pool = Array.from({ length: 15_000 }, (_, i) => commands[i % commands.length] + ` # ${i}`);
for (let i = 0; i < 30_000; i++) mem.shell(pool[rnd(pool.length)]);
const before = heap();
const tm = performance.now();
for (let i = 0; i < ITERATIONS; i++) mem.shell(pool[rnd(pool.length)]);
const after = heap();
results.memory = {
  analyses: ITERATIONS,
  heapBeforeMB: before / 2 ** 20,
  heapAfterMB: after / 2 ** 20,
  growthMB: (after - before) / 2 ** 20,
  rssMB: process.memoryUsage().rss / 2 ** 20,
  seconds: (performance.now() - tm) / 1000,
  gcExposed: typeof globalThis.gc === 'function',
};

const pctS = (x) => `${(x * 100).toFixed(1)} %`;
console.log(`analysis corpus: ${dangerous.length} dangerous, ${harmless.length} harmless`);
console.log('                                   recall    false positives');
for (const [name, q] of Object.entries(results.quality)) console.log(`  ${name.padEnd(32)} ${pctS(q.recall).padStart(8)}  ${pctS(q.falsePositiveRate).padStart(8)}`);
if (bq.missed.length > 0) console.log(`  bastion missed: ${bq.missed.join(' | ')}`);
console.log(
  `speed (no cache, ${commands.length} commands): wall median ${results.speed.medianMicros.toFixed(1)} µs, p99 ${results.speed.p99Micros.toFixed(1)} µs, max ${results.speed.maxMicros.toFixed(0)} µs; CPU median ${results.speed.cpuMedianMicros} µs, p99 ${results.speed.cpuP99Micros} µs; cached ${results.speed.cachedMicros.toFixed(2)} µs`,
);
console.log(
  `memory over ${ITERATIONS} analyses: heap ${results.memory.heapBeforeMB.toFixed(1)} → ${results.memory.heapAfterMB.toFixed(1)} MB (growth ${results.memory.growthMB.toFixed(1)} MB), rss ${results.memory.rssMB.toFixed(0)} MB, ${results.memory.seconds.toFixed(1)} s`,
);
if (process.argv[2] !== undefined) writeFileSync(process.argv[2], JSON.stringify(results, null, 2) + '\n');
