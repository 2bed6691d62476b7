/**
 * Runs a file of `examples/` as a user would: `node examples/<file>` after `npm run build`.
 * A TypeScript example runs as it is where Node strips types (≥ 22.18); on Node 20 it is
 * transpiled with `typescript` (types erased, nothing else changed) into a temporary file
 * whose `../dist/` import points at the build.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '../..');

export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function stripsTypes(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 18);
}

/** The path `node` runs for the example (the file itself, or its transpiled copy on Node 20). */
function runnable(file: string): string {
  const path = join(root, 'examples', file);
  if (!file.endsWith('.ts') || stripsTypes()) return path;
  const source = readFileSync(path, 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false } }).outputText;
  const dist = pathToFileURL(join(root, 'dist/index.js')).href;
  const here = pathToFileURL(`${join(root, 'examples')}/`).href;
  const rewritten = js.replaceAll("'../dist/index.js'", `'${dist}'`).replaceAll("new URL('.', import.meta.url)", `new URL('${here}')`);
  const out = join(mkdtempSync(join(tmpdir(), 'bastion-example-')), file.replace(/\.ts$/u, '.mjs'));
  writeFileSync(out, rewritten);
  return out;
}

/** Runs an example with `node` (the one running the tests), with a time limit. */
export function runExample(file: string, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExampleRun> {
  const path = runnable(file);
  return new Promise((done) => {
    execFile(process.execPath, [path], { cwd: root, timeout: options.timeoutMs ?? 60_000, env: { ...process.env, ...options.env } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      done({ code, stdout, stderr });
    });
  });
}
