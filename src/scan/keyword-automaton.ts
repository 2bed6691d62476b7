/**
 * An Aho-Corasick automaton over ASCII keywords, matched case-insensitively in one pass.
 * Scanners use it as their prefilter: the text is walked once whatever the number of
 * keywords, and only the rules whose keyword occurs are run, at the place it occurs. That is
 * why adding a rule does not make scanning slower.
 *
 * The transition table is indexed by character class, not by character: only the characters
 * that occur in some keyword get a class of their own (upper and lower case share one), all
 * others share class 0. With a few dozen classes a state's row is a cache line or two, so the
 * walk stays in cache even with thousands of states.
 */

export interface KeywordHit {
  /** Index of the keyword in the list the automaton was built from. */
  keyword: number;
  /** Offset of the keyword's first character in the text. */
  start: number;
}

export class KeywordAutomaton {
  readonly keywords: readonly string[];
  /** UTF-16 code unit → character class (0: occurs in no keyword). */
  private readonly classOf: Uint8Array;
  private readonly classes: number;
  private readonly delta: Uint16Array | Int32Array;
  /** 1 where a state ends at least one keyword. */
  private readonly accepting: Uint8Array;
  /** For each state, the keywords ending there (own and via failure links), or undefined. */
  private readonly outputs: (number[] | undefined)[];
  private readonly lengths: Int32Array;

  /** @param keywords lowercase ASCII strings, none empty */
  constructor(keywords: readonly string[]) {
    this.keywords = keywords;
    const classOf = new Uint8Array(65536);
    let classes = 1;
    for (const keyword of keywords) {
      if (keyword === '' || !/^[\x01-\x7f]+$/.test(keyword)) throw new Error(`keyword ${JSON.stringify(keyword)} must be non-empty ASCII`);
      for (const ch of keyword.toLowerCase()) {
        const c = ch.charCodeAt(0);
        if (classOf[c] === 0) {
          classOf[c] = classes;
          const upper = ch.toUpperCase().charCodeAt(0);
          if (upper !== c) classOf[upper] = classes;
          classes++;
        }
      }
    }
    const goto: Map<number, number>[] = [new Map()];
    const outputs: (number[] | undefined)[] = [undefined];
    keywords.forEach((keyword, index) => {
      let state = 0;
      for (const ch of keyword.toLowerCase()) {
        const c = classOf[ch.charCodeAt(0)] as number;
        let next = (goto[state] as Map<number, number>).get(c);
        if (next === undefined) {
          next = goto.length;
          goto.push(new Map());
          outputs.push(undefined);
          (goto[state] as Map<number, number>).set(c, next);
        }
        state = next;
      }
      (outputs[state] ??= []).push(index);
    });
    // Breadth-first construction of the failure function, folded into a full DFA table.
    const delta = goto.length <= 65536 ? new Uint16Array(goto.length * classes) : new Int32Array(goto.length * classes);
    const fail = new Int32Array(goto.length);
    const queue: number[] = [];
    for (let c = 1; c < classes; c++) {
      const next = (goto[0] as Map<number, number>).get(c);
      if (next !== undefined) {
        delta[c] = next;
        fail[next] = 0;
        queue.push(next);
      }
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head] as number;
      const own = outputs[fail[state] as number];
      if (own !== undefined) outputs[state] = [...(outputs[state] ?? []), ...own];
      for (let c = 0; c < classes; c++) {
        const next = c === 0 ? undefined : (goto[state] as Map<number, number>).get(c);
        if (next !== undefined) {
          delta[state * classes + c] = next;
          fail[next] = delta[(fail[state] as number) * classes + c] as number;
          queue.push(next);
        } else {
          delta[state * classes + c] = delta[(fail[state] as number) * classes + c] as number;
        }
      }
    }
    this.classOf = classOf;
    this.classes = classes;
    this.delta = delta;
    this.outputs = outputs;
    this.accepting = Uint8Array.from(outputs, (o) => (o === undefined ? 0 : 1));
    this.lengths = Int32Array.from(keywords, (k) => k.length);
  }

  /**
   * Every occurrence of every keyword, in order of where it ends, as a flat list of pairs:
   * `[keyword, start, keyword, start, …]` (no object per hit).
   */
  scanPairs(text: string): number[] {
    const hits: number[] = [];
    const { classOf, classes, delta, accepting, outputs, lengths } = this;
    const n = text.length;
    let state = 0;
    for (let i = 0; i < n; i++) {
      state = delta[state * classes + (classOf[text.charCodeAt(i)] as number)] as number;
      if (accepting[state] === 1) {
        for (const k of outputs[state] as number[]) hits.push(k, i + 1 - (lengths[k] as number));
      }
    }
    return hits;
  }

  /** Every occurrence of every keyword, in order of where it ends. */
  scan(text: string): KeywordHit[] {
    const pairs = this.scanPairs(text);
    const hits: KeywordHit[] = [];
    for (let i = 0; i < pairs.length; i += 2) hits.push({ keyword: pairs[i] as number, start: pairs[i + 1] as number });
    return hits;
  }
}
