/**
 * An Aho-Corasick automaton over ASCII keywords, matched case-insensitively in one pass.
 * Scanners use it as their prefilter: the text is walked once whatever the number of
 * keywords, and only the rules whose keyword occurs are run, at the place it occurs. That is
 * why adding a rule does not make scanning slower.
 */

/** Characters outside ASCII never occur in a keyword; they all map to this symbol. */
const OTHER = 0;
const ALPHABET = 128;

export interface KeywordHit {
  /** Index of the keyword in the list the automaton was built from. */
  keyword: number;
  /** Offset of the keyword's first character in the text. */
  start: number;
}

export class KeywordAutomaton {
  readonly keywords: readonly string[];
  private readonly delta: Int32Array;
  /** For each state, the keywords ending there (own and via failure links), or undefined. */
  private readonly outputs: (number[] | undefined)[];

  /** @param keywords lowercase ASCII strings, none empty */
  constructor(keywords: readonly string[]) {
    this.keywords = keywords;
    const goto: Map<number, number>[] = [new Map()];
    const outputs: (number[] | undefined)[] = [undefined];
    keywords.forEach((keyword, index) => {
      if (keyword === '' || !/^[\x01-\x7f]+$/.test(keyword)) throw new Error(`keyword ${JSON.stringify(keyword)} must be non-empty ASCII`);
      let state = 0;
      for (const ch of keyword.toLowerCase()) {
        const c = ch.charCodeAt(0);
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
    const delta = new Int32Array(goto.length * ALPHABET);
    const fail = new Int32Array(goto.length);
    const queue: number[] = [];
    for (let c = 0; c < ALPHABET; c++) {
      const next = (goto[0] as Map<number, number>).get(c);
      if (next !== undefined && c !== OTHER) {
        delta[c] = next;
        fail[next] = 0;
        queue.push(next);
      }
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head] as number;
      const own = outputs[fail[state] as number];
      if (own !== undefined) outputs[state] = [...(outputs[state] ?? []), ...own];
      for (let c = 0; c < ALPHABET; c++) {
        const next = (goto[state] as Map<number, number>).get(c);
        if (next !== undefined && c !== OTHER) {
          delta[state * ALPHABET + c] = next;
          fail[next] = delta[(fail[state] as number) * ALPHABET + c] as number;
          queue.push(next);
        } else {
          delta[state * ALPHABET + c] = delta[(fail[state] as number) * ALPHABET + c] as number;
        }
      }
    }
    this.delta = delta;
    this.outputs = outputs;
  }

  /** Every occurrence of every keyword, in order of where it ends. */
  scan(text: string): KeywordHit[] {
    const hits: KeywordHit[] = [];
    const delta = this.delta;
    const outputs = this.outputs;
    const lengths = this.keywords.map((k) => k.length);
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      let c = text.charCodeAt(i);
      if (c >= 65 && c <= 90) c += 32;
      else if (c >= ALPHABET) c = OTHER;
      state = delta[state * ALPHABET + c] as number;
      const out = outputs[state];
      if (out !== undefined) for (const k of out) hits.push({ keyword: k, start: i + 1 - (lengths[k] as number) });
    }
    return hits;
  }
}
