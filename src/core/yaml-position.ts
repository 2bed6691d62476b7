/**
 * Where a field of a parsed YAML (or JSON) document is written: the line and column that
 * error messages point at. Shared by the policy loader and the configuration loader, so a
 * schema problem's path becomes ``line 7, column 13: field `rules[0].effect` `` in both.
 */

import type { Document, LineCounter } from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/** Maps a path in the document to a position; `atKey` points at the key (an unknown field). */
export type Locate = (path: readonly (string | number)[], atKey?: boolean) => Position | undefined;

interface Ranged {
  range?: [number, number, number];
}

/**
 * A locator for one parsed document: the node at the path, or the nearest ancestor that
 * exists (a missing field points at the mapping that lacks it).
 *
 * @example
 * const lineCounter = new LineCounter();
 * const doc = parseDocument(text, { lineCounter });
 * yamlLocator(doc, lineCounter)(['rules', 0, 'effect']) // { line: 6, column: 13 }
 */
export function yamlLocator(doc: Document.Parsed, lineCounter: LineCounter): Locate {
  const at = (offset: number): Position => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  return (path, atKey = false) => {
    const last = path[path.length - 1];
    if (atKey && typeof last === 'string') {
      const parent = doc.getIn(path.slice(0, -1), true) as { items?: { key?: { value?: unknown } & Ranged }[] } | undefined;
      const pair = parent?.items?.find((item) => item.key?.value === last);
      if (pair?.key?.range) return at(pair.key.range[0]);
    }
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Ranged | undefined;
      if (node && typeof node === 'object' && node.range) return at(node.range[0]);
    }
    return undefined;
  };
}
