/**
 * Keeps the layout what docs/architecture.md says it is, by parsing every import in `src/`:
 *
 * - stages and edges are folders; a folder reaches another folder only through that
 *   folder's `index.ts` (its public face; `storage/local.ts` is a second, light one), except
 *   `core/`, whose primitives are imported file by file;
 * - `core/` imports nothing outside `core/`;
 * - no cycles between folders;
 * - the engine (`policy/engine.ts`) and everything it imports do no I/O: no file system,
 *   network, process, database or clock access.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * Second faces besides a folder's index.ts: `storage/local.ts` is storage without the
 * PostgreSQL and Redis drivers (loaded on first use), for the gateway and the app, so a
 * process that needs neither (a hook run per tool call) does not load them.
 */
const FACES = new Set(['storage/local.ts']);
const src = join(root, 'src');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

interface Import {
  from: string;
  /** The resolved .ts file for a relative import, else the bare specifier. */
  target: string;
  relative: boolean;
  typeOnly: boolean;
}

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4];
    if (spec === undefined) continue;
    const isRelative = spec.startsWith('.');
    const target = isRelative ? resolve(dirname(file), spec).replace(/\.js$/, '.ts') : spec;
    out.push({ from: file, target, relative: isRelative, typeOnly: m[2] !== undefined });
  }
  return out;
}

const files = walk(src);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
/** `core`, `policy`, … or `.` for files directly in src/. */
const folderOf = (file: string): string => {
  const rel = relative(src, file);
  return rel.includes('/') ? (rel.split('/')[0] as string) : '.';
};
const show = (file: string) => relative(root, file);

describe('architecture', () => {
  it('every relative import resolves to a file in src/', () => {
    const missing = [...graph.values()].flat().filter((i) => i.relative && !graph.has(i.target));
    expect(missing.map((i) => `${show(i.from)} → ${show(i.target)}`)).toEqual([]);
  });

  it('a folder reaches another only through its index.ts (core/ file by file)', () => {
    const bad = [...graph.values()]
      .flat()
      .filter((i) => i.relative && folderOf(i.from) !== folderOf(i.target))
      .filter((i) => folderOf(i.target) !== 'core' && !FACES.has(relative(src, i.target)) && relative(join(src, folderOf(i.target)), i.target) !== 'index.ts');
    expect(bad.map((i) => `${show(i.from)} → ${show(i.target)}`)).toEqual([]);
  });

  it('core/ imports nothing outside core/', () => {
    const bad = [...graph.values()].flat().filter((i) => folderOf(i.from) === 'core' && i.relative && folderOf(i.target) !== 'core');
    expect(bad.map((i) => `${show(i.from)} → ${show(i.target)}`)).toEqual([]);
  });

  it('folders form no cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of [...graph.values()].flat()) {
      if (!i.relative) continue;
      const a = folderOf(i.from);
      const b = folderOf(i.target);
      if (a !== b) (edges.get(a) ?? edges.set(a, new Set()).get(a))?.add(b);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, 'open');
      stack.push(n);
      for (const m of edges.get(n) ?? []) {
        if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m].join(' → '));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const n of [...edges.keys()].sort()) if (!state.has(n)) visit(n);
    expect(cycles).toEqual([]);
  });

  it('the engine and everything it imports do no I/O', () => {
    const IO_MODULES = /^(node:)?(fs|fs\/promises|child_process|http|https|http2|net|dgram|dns|tls|worker_threads|cluster|os|process|readline)$|sqlite|web-tree-sitter|tree-sitter/;
    const IO_CALLS = /\b(Date\.now|new Date\(\)|Math\.random|performance\.now|process\.(env|argv|cwd|hrtime)|setTimeout|setInterval|fetch\()/;
    const closure = new Set<string>();
    const todo = [join(src, 'policy/engine.ts')];
    while (todo.length > 0) {
      const f = todo.pop() as string;
      if (closure.has(f)) continue;
      closure.add(f);
      for (const i of graph.get(f) ?? []) if (i.relative && !i.typeOnly) todo.push(i.target);
    }
    const problems: string[] = [];
    for (const f of closure) {
      for (const i of graph.get(f) ?? []) if (!i.relative && !i.typeOnly && IO_MODULES.test(i.target)) problems.push(`${show(f)} imports \`${i.target}\``);
      const code = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const call = IO_CALLS.exec(code);
      if (call) problems.push(`${show(f)} calls \`${call[0]}\``);
    }
    expect(closure.size).toBeGreaterThan(3);
    expect(problems).toEqual([]);
  });
});
