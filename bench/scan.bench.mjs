// Content scanners: precision and recall on the labelled corpora, and throughput.
// Run: npm run build && node bench/scan.bench.mjs [out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { detectInjection, findPii, findSecrets, scanText } from '../dist/scan/index.js';

const load = (name) => JSON.parse(readFileSync(new URL(`../test/fixtures/scan/${name}`, import.meta.url), 'utf8'));
const pct = (x) => Math.round(x * 10000) / 100;

function classify(positives, negatives, hit, flagged) {
  const tp = positives.filter(hit).length;
  const fp = negatives.filter(flagged).length;
  return {
    positives: positives.length,
    negatives: negatives.length,
    recall: pct(tp / positives.length),
    falsePositiveRate: pct(fp / negatives.length),
    precision: pct(tp / Math.max(1, tp + fp)),
  };
}

const secretsPos = load('secrets-positive.json');
const secretsNeg = load('secrets-negative.json');
const secrets = classify(
  secretsPos,
  secretsNeg,
  (c) => findSecrets(c.text).some((f) => f.rule === c.rule && c.text.slice(f.start, f.end) === c.secret),
  (c) => findSecrets(c.text).length > 0,
);
const injPos = load('injection-positive.json');
const injNeg = load('injection-negative.json');
const injection = classify(injPos, injNeg, (c) => detectInjection(c.text).attack, (c) => detectInjection(c.text).attack);
const piiCases = load('pii.json');
const pii = classify(
  piiCases.filter((c) => c.rule !== null),
  piiCases.filter((c) => c.rule === null),
  (c) => findPii(c.text).some((f) => f.rule === c.rule && c.text.slice(f.start, f.end) === c.value),
  (c) => findPii(c.text).length > 0,
);

// A realistic mixed corpus: tickets, runbooks, configs, logs; a few secrets and attacks in it.
const prose = [...injNeg.map((c) => c.text), ...secretsNeg.map((c) => c.text)];
const spiced = [...prose, ...secretsPos.slice(0, 8).map((c) => c.text), ...injPos.slice(0, 4).map((c) => c.text)];
let mixed = '';
for (let i = 0; mixed.length < 1_100_000; i++) mixed += spiced[(i * 7919) % spiced.length] + '\n';
const oneKb = prose.join('\n').slice(0, 1024);

function median(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function time(fn, runs) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return median(samples);
}

for (let i = 0; i < 300; i++) scanText(oneKb); // warm up the JIT
const kbMedianUs = Math.round(time(() => scanText(oneKb), 3000) * 10) / 10;
const oneMb = mixed.slice(0, 1_048_576);
scanText(oneMb);
const mbMedianMs = Math.round((time(() => scanText(oneMb), 7) / 1000) * 10) / 10;
const mbSecretsMs = Math.round((time(() => scanText(oneMb, { kinds: ['secret'] }), 7) / 1000) * 10) / 10;

const figures = {
  secrets,
  injection,
  pii,
  throughput: { oneKbAllScannersMedianMicros: kbMedianUs, oneMbAllScannersMedianMillis: mbMedianMs, oneMbSecretsOnlyMedianMillis: mbSecretsMs },
  targets: { secretsRecall: 97, secretsFalsePositiveRate: 2, injectionRecall: 90, injectionFalsePositiveRate: 5, oneKbMicros: 50, oneMbMillis: 50 },
};

const row = (name, r) => `${name.padEnd(10)} recall ${String(r.recall).padStart(6)} %  FP ${String(r.falsePositiveRate).padStart(5)} %  precision ${String(r.precision).padStart(6)} %  (${r.positives} positives, ${r.negatives} negatives)`;
console.log('Content scanners');
console.log(row('secrets', secrets));
console.log(row('injection', injection));
console.log(row('pii', pii));
console.log(`1 KB, all scanners: ${kbMedianUs} µs median (target ≤ 50)`);
console.log(`1 MB, all scanners: ${mbMedianMs} ms median (target ≤ 50); secrets only: ${mbSecretsMs} ms`);
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify(figures, null, 2) + '\n');
