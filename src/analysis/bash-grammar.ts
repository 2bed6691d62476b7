/**
 * Loads the tree-sitter bash grammar once per process, when this module is first imported
 * (top-level await). The wasm files ship inside the `web-tree-sitter` and `tree-sitter-bash`
 * npm packages, so nothing is built or downloaded. After the load everything is synchronous:
 * analyzers can be created and run without a promise, so `evaluate()` can analyze a request.
 *
 * A failed load fails the import of the analysis stage: nothing can be decided without the
 * shell analyzer, so the process must not start half-armed (fail closed).
 */

import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';

async function load(): Promise<Parser> {
  const require = createRequire(import.meta.url);
  await Parser.init();
  const language = await Language.load(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

// INVARIANT: one parser per process, loaded before any importer of the analysis stage runs.
const parser: Parser = await load();

/**
 * The shared bash parser, loaded when this module was imported.
 *
 * @example const tree = bashParser().parse('ls -la');
 */
export function bashParser(): Parser {
  return parser;
}

/**
 * Resolves to the shared bash parser. Kept for callers of the asynchronous API; the parser
 * is already loaded.
 *
 * @example const parser = await loadBashParser(); const tree = parser.parse('ls -la');
 */
export function loadBashParser(): Promise<Parser> {
  return Promise.resolve(parser);
}
