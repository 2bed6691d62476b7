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

/** See {@link KeywordAutomaton.grouping}. */
export interface KeywordGrouping {
  readonly count: number;
  readonly groupOf: Int32Array;
  readonly base: Int32Array;
}

export class KeywordAutomaton {
  readonly keywords: readonly string[];
  /** UTF-16 code unit → character class (0: occurs in no keyword). */
  private readonly classOf: Uint8Array;
  private readonly classes: number;
  /**
   * The transitions, `delta[state * classes + class]`. States are ordered so that those ending
   * a keyword come last, from `accepting` on: the walk tells them by one comparison, without a
   * second table load per character. (Pre-multiplied state numbers would save the multiply but
   * need 32-bit entries; the larger table was slower.)
   */
  private readonly delta: Uint16Array | Int32Array;
  private readonly accepting: number;
  /** For each accepting state (by index from the first), the keywords ending there (own and via failure links). */
  private readonly outputs: number[][];
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
    // Renumber: the start state stays 0, states that end no keyword keep their order, those
    // that end one follow; each state becomes the offset of its row.
    const order: number[] = [];
    for (let s = 0; s < goto.length; s++) if (outputs[s] === undefined) order.push(s);
    const firstAccepting = order.length;
    for (let s = 0; s < goto.length; s++) if (outputs[s] !== undefined) order.push(s);
    const rank = new Int32Array(goto.length);
    order.forEach((s, r) => (rank[s] = r));
    const table = goto.length <= 65536 ? new Uint16Array(goto.length * classes) : new Int32Array(goto.length * classes);
    order.forEach((s, r) => {
      for (let c = 0; c < classes; c++) table[r * classes + c] = rank[delta[s * classes + c] as number] as number;
    });
    this.classOf = classOf;
    this.classes = classes;
    this.delta = table;
    this.accepting = firstAccepting;
    this.outputs = order.slice(firstAccepting).map((s) => outputs[s] as number[]);
    this.lengths = Int32Array.from(keywords, (k) => k.length);
  }

  /**
   * Every occurrence of every keyword, in order of where it ends, as a flat list of pairs:
   * `[keyword, start, keyword, start, …]` (no object per hit).
   */
  scanPairs(text: string): number[] {
    return this.scanGroups(text, (this.all ??= this.grouping([this.keywords.length])))[0] as number[];
  }

  private all: KeywordGrouping | undefined;

  /**
   * A split of the keywords into consecutive ranges for {@link scanGroups}: `bounds` are
   * ascending exclusive ends; keywords from the last bound on are dropped.
   */
  grouping(bounds: readonly number[]): KeywordGrouping {
    const groupOf = new Int32Array(this.keywords.length).fill(-1);
    const base = new Int32Array(this.keywords.length);
    let from = 0;
    bounds.forEach((end, g) => {
      for (let k = from; k < end; k++) {
        groupOf[k] = g;
        base[k] = from;
      }
      from = end;
    });
    return { count: bounds.length, groupOf, base };
  }

  /**
   * {@link scanPairs} split by keyword ranges in one walk: group g holds the hits of the
   * keywords of range g, numbered from the range's first keyword (for several scanners
   * sharing one automaton).
   */
  scanGroups(text: string, grouping: KeywordGrouping): number[][] {
    const groups: number[][] = [];
    for (let g = 0; g < grouping.count; g++) groups.push([]);
    const { groupOf, base } = grouping;
    const { classOf, classes, delta, accepting, outputs, lengths } = this;
    const n = text.length;
    let state = 0;
    for (let i = 0; i < n; i++) {
      state = delta[state * classes + (classOf[text.charCodeAt(i)] as number)] as number;
      if (state >= accepting) {
        for (const k of outputs[state - accepting] as number[]) {
          const g = groupOf[k] as number;
          if (g >= 0) (groups[g] as number[]).push(k - (base[k] as number), i + 1 - (lengths[k] as number));
        }
      }
    }
    return groups;
  }

  /** Every occurrence of every keyword, in order of where it ends. */
  scan(text: string): KeywordHit[] {
    const pairs = this.scanPairs(text);
    const hits: KeywordHit[] = [];
    for (let i = 0; i < pairs.length; i += 2) hits.push({ keyword: pairs[i] as number, start: pairs[i + 1] as number });
    return hits;
  }
}
