// Measures the secret scanner on material outside the repository (after `npm run build`).
//
//   node scripts/secrets-eval.mjs code DIR_OR_FILE...   non-secrets flagged per MB of ordinary code
//   node scripts/secrets-eval.mjs cases FILE...         recall and false positives on labelled cases
//
// `code` reads every text file under the paths (no .git, node_modules, vendored or minified
// files, nothing over 1 MB) and counts findings per MB: in ordinary code each one is taken as
// a false positive (`--list` prints them, masked, with file and rule).
// `cases` reads JSON arrays or JSON lines of `{ "text": …, "secret": "…" | true | null }` (null or
// absent: a non-secret; true: a secret somewhere in the text, found by any finding); a
// positive counts as found when a finding covers the secret, and
// a negative as flagged when there is any finding. `--list` prints misses and false positives.
// `--time` prints the time `findSecrets` took per MB.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findSecrets } from '../dist/scan/index.js';

const [mode, ...rest] = process.argv.slice(2);
const list = rest.includes('--list');
const time = rest.includes('--time');
const paths = rest.filter((a) => !a.startsWith('--'));

const SKIP_DIRS = new Set(['.git', 'node_modules', 'vendor', 'dist', 'build', '__pycache__']);
const SKIP_FILE = /\.(?:min\.js|map|png|jpe?g|gif|ico|svg|woff2?|ttf|eot|pdf|zip|gz|tgz|jar|lock|pyc|so|dll|exe)$|(?:^|\/)(?:package-lock\.json|yarn\.lock|pnpm-lock\.yaml|go\.sum)$/i;

function* files(path) {
  const st = statSync(path);
  if (st.isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* files(join(path, entry.name));
    } else if (entry.isFile() && !SKIP_FILE.test(entry.name)) yield join(path, entry.name);
  }
}

function readText(file) {
  if (statSync(file).size > 1_000_000) return undefined;
  const buf = readFileSync(file);
  if (buf.includes(0)) return undefined;
  return buf.toString('utf8');
}

function timed(text) {
  const t0 = process.hrtime.bigint();
  const found = findSecrets(text);
  return { found, ns: Number(process.hrtime.bigint() - t0) };
}

if (mode === 'code') {
  let bytes = 0;
  let flagged = 0;
  let ns = 0;
  const byRule = new Map();
  for (const root of paths) {
    for (const file of files(root)) {
      const text = readText(file);
      if (text === undefined) continue;
      bytes += Buffer.byteLength(text);
      const r = timed(text);
      ns += r.ns;
      for (const f of r.found) {
        flagged++;
        byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
        if (list) console.log(`${file}:${text.slice(0, f.start).split('\n').length}\t${f.rule}\t${f.evidence}`);
      }
    }
  }
  const mb = bytes / 1e6;
  console.log(`${mb.toFixed(1)} MB, ${flagged} flagged, ${(flagged / mb).toFixed(2)} per MB`);
  console.log(
    `by rule: ${[...byRule]
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ${n}`)
      .join(', ')}`,
  );
  if (time) console.log(`findSecrets: ${(ns / 1e6 / mb).toFixed(1)} ms per MB`);
} else if (mode === 'cases') {
  const cases = [];
  for (const root of paths) {
    for (const file of files(root)) {
      const raw = readFileSync(file, 'utf8').trim();
      const parsed = raw.startsWith('[')
        ? JSON.parse(raw)
        : raw
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l));
      for (const c of parsed) cases.push({ ...c, file });
    }
  }
  let tp = 0;
  let pos = 0;
  let fp = 0;
  let neg = 0;
  for (const c of cases) {
    const found = findSecrets(c.text);
    if (c.secret === true) {
      // A case that holds a secret somewhere, not located: any finding counts.
      pos++;
      if (found.length > 0) tp++;
      else if (list) console.log(`MISS\t${c.label ?? ''}\t${JSON.stringify(c.text).slice(0, 160)}`);
    } else if (typeof c.secret === 'string' && c.secret !== '') {
      pos++;
      const at = c.text.indexOf(c.secret);
      const hit = found.some((f) => f.start <= at + c.secret.length - 1 && f.end > at && f.end - f.start >= Math.min(8, c.secret.length));
      if (hit) tp++;
      else if (list) console.log(`MISS\t${c.label ?? ''}\t${JSON.stringify(c.text).slice(0, 160)}`);
    } else {
      neg++;
      if (found.length > 0) {
        fp++;
        if (list) console.log(`FP\t${c.label ?? ''}\t${found.map((f) => f.rule).join(',')}\t${JSON.stringify(c.text).slice(0, 160)}`);
      }
    }
  }
  console.log(`positives ${pos}: recall ${(tp / Math.max(1, pos)).toFixed(3)} (${tp}); negatives ${neg}: flagged ${(fp / Math.max(1, neg)).toFixed(3)} (${fp})`);
} else {
  console.error('usage: node scripts/secrets-eval.mjs code|cases PATH... [--list] [--time]');
  process.exit(2);
}
