/**
 * Loads the tree-sitter bash grammar once per process. The wasm files ship inside the
 * `web-tree-sitter` and `tree-sitter-bash` npm packages, so nothing is built or downloaded.
 * After the load everything is synchronous, which keeps the analyzer's hot path free of
 * promises.
 */

import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';

let loading: Promise<Parser> | undefined;

/**
 * Resolves to the shared bash parser; concurrent and repeated calls share one load.
 *
 * @example const parser = await loadBashParser(); const tree = parser.parse('ls -la');
 */
export function loadBashParser(): Promise<Parser> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url);
    await Parser.init();
    const language = await Language.load(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  // A failed load must not poison later attempts forever.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
