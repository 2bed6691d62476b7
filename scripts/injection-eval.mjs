// Recall and false-positive rate of the prompt-injection detector on labelled text kept outside
// the test suite (a held-out split, or a public benchmark converted to JSON under /tmp).
// Run: npm run build && node scripts/injection-eval.mjs <positives.json> <negatives.json> [--misses]
// Each file holds a JSON array of strings or of objects with a `text` field (JSON Lines also work).
import { readFileSync } from 'node:fs';
import { detectInjection } from '../dist/scan/index.js';

const args = process.argv.slice(2);
const showMisses = args.includes('--misses');
const [posFile, negFile] = args.filter((a) => !a.startsWith('--'));
if (posFile === undefined || negFile === undefined) {
  console.error('usage: node scripts/injection-eval.mjs <positives.json> <negatives.json> [--misses]');
  process.exit(2);
}

function load(file) {
  const raw = readFileSync(file, 'utf8').trim();
  const items = raw.startsWith('[')
    ? JSON.parse(raw)
    : raw
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l));
  return items.map((c, i) => (typeof c === 'string' ? { description: `#${i}`, text: c } : { description: c.description ?? `#${i}`, text: c.text }));
}

const positives = load(posFile);
const negatives = load(negFile);
const missed = positives.filter((c) => !detectInjection(c.text).attack);
const flagged = negatives.filter((c) => detectInjection(c.text).attack);
const rate = (n, d) => Math.round((n / Math.max(1, d)) * 1000) / 1000;
console.log(
  JSON.stringify({
    positives: positives.length,
    negatives: negatives.length,
    recall: rate(positives.length - missed.length, positives.length),
    falsePositiveRate: rate(flagged.length, negatives.length),
  }),
);
if (showMisses) {
  for (const c of missed) console.log(`missed  ${c.description}: ${c.text.slice(0, 140).replace(/\n/g, '\\n')}`);
  for (const c of flagged) console.log(`flagged ${c.description}: ${JSON.stringify(detectInjection(c.text).techniques.map((t) => [t.technique, t.weight, t.evidence]))}`);
}
