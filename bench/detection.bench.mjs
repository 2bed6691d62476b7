// Detection figures on the project's own held-out material, one line per detector: recall and
// false-positive rate of the shell analyzer (risk ≥ high counts as detected), the prompt-
// injection detector and the secret scanner, on sets kept apart from the development corpora.
// These are not outside figures: the sets were written here (by the same people as the
// detectors), only apart from what was tuned on; docs/analysis.md and docs/scanners.md give the
// figures measured once on public material, which is never committed.
//
//   shell      test/fixtures/analysis/shell-holdout-{attack,benign}.txt, one command a line:
//              written before the December rework and never tuned on (one miss exposed a
//              parsing bug, `xargs -0`, which was fixed)
//   injection  test/fixtures/scan/injection-holdout-{positive,negative}.json: written before
//              the December rework and never tuned on
//   secrets    test/fixtures/scan/secrets-set2-{positive,negative}.json: hand-written set 2,
//              held out until its first run (0.73 recall / 0.03 false positives), tuned on after
//              it, so its figure now is a development one; said in the output
//
// Run as `node bench/detection.bench.mjs <out.json>` after `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';
import { createAnalyzer } from '../dist/analysis/index.js';
import { detectInjection, findSecrets } from '../dist/scan/index.js';

const fixtures = new URL('../test/fixtures/', import.meta.url);
const lines = (path) =>
  readFileSync(new URL(path, fixtures), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
const json = (path) => JSON.parse(readFileSync(new URL(path, fixtures), 'utf8'));
const RANK = { low: 0, medium: 1, high: 2, critical: 3 };

function rates(positives, negatives, detect) {
  const found = positives.filter(detect).length;
  const flagged = negatives.filter(detect).length;
  return {
    positives: positives.length,
    negatives: negatives.length,
    recall: Math.round((found / positives.length) * 1000) / 1000,
    falsePositiveRate: Math.round((flagged / negatives.length) * 1000) / 1000,
  };
}

const analyzer = await createAnalyzer();
const results = {
  shell: {
    set: 'own held-out split, never tuned on',
    ...rates(
      lines('analysis/shell-holdout-attack.txt'),
      lines('analysis/shell-holdout-benign.txt'),
      (c) => RANK[analyzer.shell(c, { cwd: '/home/user/project', home: '/home/user' }).risk] >= RANK.high,
    ),
  },
  injection: {
    set: 'own held-out split, never tuned on',
    ...rates(json('scan/injection-holdout-positive.json'), json('scan/injection-holdout-negative.json'), (c) => detectInjection(c.text).attack),
  },
  secrets: {
    set: 'hand-written set 2: held out until its first run (0.73 / 0.03), tuned on since',
    ...rates(
      json('scan/secrets-set2-positive.json'),
      json('scan/secrets-set2-negative.json'),
      // A positive counts when a finding covers its secret (or any finding, for `secret: true`); a negative when anything is found.
      (c) => {
        const findings = findSecrets(c.text);
        if (c.secret === null || c.secret === undefined || c.secret === true) return findings.length > 0;
        const at = c.text.indexOf(c.secret);
        return findings.some((f) => f.start <= at && f.end >= at + c.secret.length);
      },
    ),
  },
};
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(10)} recall ${r.recall.toFixed(2)}, false positives ${r.falsePositiveRate.toFixed(2)} (${r.positives} positives, ${r.negatives} negatives; ${r.set})`);
}
writeFileSync(process.argv[2] ?? 'detection.json', `${JSON.stringify(results, null, 2)}\n`);
