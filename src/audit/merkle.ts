/**
 * The RFC 6962 Merkle tree over the audit events (leaf index = seq - 1): roots, inclusion
 * proofs and consistency proofs, plus the compact range (the "frontier" of perfect subtrees)
 * that lets a writer keep the root up to date in O(log n) memory and lets a pruned log keep
 * verifying without the leaves it dropped. Pure: no storage, no clock.
 */

import type { Digest } from './hash.js';
import { EMPTY_ROOT, nodeDigest, nodeHash } from './hash.js';

/** Largest power of two strictly smaller than `n` (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The perfect subtrees that cover leaves [0, size), largest first: one per set bit of
 * `size`. Appending a leaf merges equal-sized trailing subtrees, like binary addition.
 *
 * @example
 * const range = new CompactRange();
 * for (const leaf of leaves) range.append(leaf);
 * range.root(); // the RFC 6962 root of all leaves
 */
export class CompactRange {
  size: number;
  /** Roots of the covering perfect subtrees, largest (leftmost) first. */
  readonly nodes: Buffer[];

  constructor(size = 0, nodes: Buffer[] = []) {
    if (popcount(size) !== nodes.length) throw new Error(`compact range of size ${size} needs ${popcount(size)} nodes, got ${nodes.length}`);
    this.size = size;
    this.nodes = nodes;
  }

  append(leaf: Buffer): void {
    let hashValue = leaf;
    // Each trailing 1 bit of the old size is a subtree of equal size to merge with.
    let size = this.size;
    while (size % 2 === 1) {
      const left = this.nodes.pop() as Buffer;
      hashValue = nodeHash(left, hashValue);
      size = Math.floor(size / 2);
    }
    this.nodes.push(hashValue);
    this.size++;
  }

  /** The RFC 6962 root of leaves [0, size). */
  root(): Buffer {
    if (this.nodes.length === 0) return EMPTY_ROOT;
    let acc = this.nodes[this.nodes.length - 1] as Buffer;
    for (let i = this.nodes.length - 2; i >= 0; i--) acc = nodeHash(this.nodes[i] as Buffer, acc);
    return acc;
  }

  clone(): CompactRange {
    return new CompactRange(this.size, [...this.nodes]);
  }

  /** The [start, end) leaf ranges of `nodes`, in the same order. */
  spans(): Array<[number, number]> {
    const spans: Array<[number, number]> = [];
    let start = 0;
    for (let bit = 2 ** Math.floor(Math.log2(Math.max(this.size, 1))); bit >= 1; bit /= 2) {
      if (Math.floor(this.size / bit) % 2 === 1) {
        spans.push([start, start + bit]);
        start += bit;
      }
    }
    return spans;
  }

  toJSON(): { size: number; nodes: string[] } {
    return { size: this.size, nodes: this.nodes.map((n) => n.toString('hex')) };
  }

  static fromJSON(value: { size: number; nodes: string[] }): CompactRange {
    return new CompactRange(
      value.size,
      value.nodes.map((n) => Buffer.from(n, 'hex')),
    );
  }
}

/**
 * A {@link CompactRange} over {@link Digest} strings, for verification's hot loop: the same
 * roots without a Buffer per node.
 *
 * @example
 * const range = DigestRange.from(new CompactRange());
 * range.append(leafDigest(json));
 * range.rootHex(); // === merkleRoot([leafHash(json)]).toString('hex')
 */
export class DigestRange {
  private constructor(
    public size: number,
    private readonly nodes: Digest[],
  ) {}

  /** A range of `size` leaves from its frontier digests, largest subtree first. */
  static of(size: number, nodes: Digest[]): DigestRange {
    if (popcount(size) !== nodes.length) throw new Error(`compact range of size ${size} needs ${popcount(size)} nodes, got ${nodes.length}`);
    return new DigestRange(size, nodes);
  }

  static from(range: CompactRange): DigestRange {
    return new DigestRange(
      range.size,
      range.nodes.map((n) => n.toString('latin1')),
    );
  }

  append(leaf: Digest): void {
    let value = leaf;
    let size = this.size;
    while (size % 2 === 1) {
      value = nodeDigest(this.nodes.pop() as Digest, value);
      size = (size - 1) / 2;
    }
    this.nodes.push(value);
    this.size++;
  }

  rootHex(): string {
    if (this.nodes.length === 0) return EMPTY_ROOT.toString('hex');
    let acc = this.nodes[this.nodes.length - 1] as Digest;
    for (let i = this.nodes.length - 2; i >= 0; i--) acc = nodeDigest(this.nodes[i] as Digest, acc);
    return Buffer.from(acc, 'latin1').toString('hex');
  }
}

/** A {@link SegmentRange} as plain data, to hand across threads. */
export interface SegmentNodes {
  begin: number;
  end: number;
  /** Per node, left to right: its level (0 for a leaf), its index at that level, its digest. */
  levels: number[];
  indexes: number[];
  hashes: Digest[];
}

/**
 * The compact range of any leaves [begin, end), not only of a prefix: the maximal perfect
 * subtrees that cover it, left to right. Two adjacent ranges merge into the range of both
 * (RFC 6962 subtrees are aligned, so the merge is the same carry as appending leaves), which
 * lets threads hash disjoint stretches of a log and one thread combine their roots.
 *
 * @example
 * const left = new SegmentRange(0); left.append(a);
 * const right = new SegmentRange(1); right.append(b);
 * left.concat(right).rootHex(); // === the root over [a, b]
 */
export class SegmentRange {
  private constructor(
    readonly begin: number,
    public end: number,
    private readonly levels: number[],
    private readonly indexes: number[],
    private readonly hashes: Digest[],
  ) {}

  /** The empty range at `begin`. */
  static at(begin: number): SegmentRange {
    return new SegmentRange(begin, begin, [], [], []);
  }

  /** The range [0, size) of a prefix's compact range. */
  static ofPrefix(range: CompactRange): SegmentRange {
    const out = SegmentRange.at(0);
    range.spans().forEach(([start, end], i) => {
      const level = Math.log2(end - start);
      out.push(level, start / (end - start), (range.nodes[i] as Buffer).toString('latin1'));
    });
    out.end = range.size;
    return out;
  }

  static fromJSON(value: SegmentNodes): SegmentRange {
    const { begin, end, levels, indexes, hashes } = value;
    return new SegmentRange(begin, end, [...levels], [...indexes], [...hashes]);
  }

  toJSON(): SegmentNodes {
    return { begin: this.begin, end: this.end, levels: [...this.levels], indexes: [...this.indexes], hashes: [...this.hashes] };
  }

  /** Appends the leaf at index `end`. */
  append(leaf: Digest): void {
    this.push(0, this.end, leaf);
    this.end++;
  }

  /** This range followed by `next`, which must start where this one ends; neither changes. */
  concat(next: SegmentRange): SegmentRange {
    if (next.begin !== this.end) throw new RangeError(`range [${next.begin}, ${next.end}) does not follow [${this.begin}, ${this.end})`);
    const out = new SegmentRange(this.begin, this.end, [...this.levels], [...this.indexes], [...this.hashes]);
    for (let i = 0; i < next.hashes.length; i++) out.push(next.levels[i] as number, next.indexes[i] as number, next.hashes[i] as Digest);
    out.end = next.end;
    return out;
  }

  /** The root of leaves [0, end); only a range that starts at 0 has one. */
  rootHex(): string {
    if (this.begin !== 0) throw new RangeError(`range [${this.begin}, ${this.end}) is not a prefix of the log`);
    return DigestRange.of(this.end, this.hashes).rootHex();
  }

  /** The same prefix as a {@link DigestRange}, to go on appending to. */
  toDigestRange(): DigestRange {
    if (this.begin !== 0) throw new RangeError(`range [${this.begin}, ${this.end}) is not a prefix of the log`);
    return DigestRange.of(this.end, [...this.hashes]);
  }

  // A node merges with the one before it when that is its left sibling: same level, the
  // index before its own, and it is a right child (odd index). Merging carries upwards.
  private push(level: number, index: number, hash: Digest): void {
    let l = level;
    let at = index;
    let value = hash;
    const last = this.hashes.length - 1;
    let top = last;
    while (top >= 0 && at % 2 === 1 && this.levels[top] === l && this.indexes[top] === at - 1) {
      value = nodeDigest(this.hashes[top] as Digest, value);
      l++;
      at = (at - 1) / 2;
      top--;
    }
    if (top < last) {
      this.levels.length = top + 1;
      this.indexes.length = top + 1;
      this.hashes.length = top + 1;
    }
    this.levels.push(l);
    this.indexes.push(at);
    this.hashes.push(value);
  }
}

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

/**
 * Hashes any RFC 6962 subtree [start, end) of a log whose leaves below `prefix.size` were
 * pruned: those subtrees come from the prefix's compact range, the rest from `leafAt`.
 */
export class TreeHasher {
  private readonly prefixNodes = new Map<string, Buffer>();

  constructor(
    private readonly leafAt: (index: number) => Buffer,
    readonly prefix: CompactRange = new CompactRange(),
  ) {
    const spans = prefix.spans();
    spans.forEach(([s, e], i) => this.prefixNodes.set(`${s}:${e}`, prefix.nodes[i] as Buffer));
  }

  /** MTH(D[start:end]) as RFC 6962 section 2.1 defines it. */
  hash(start: number, end: number): Buffer {
    const fromPrefix = this.prefixNodes.get(`${start}:${end}`);
    if (fromPrefix) return fromPrefix;
    if (end - start === 1) {
      if (start < this.prefix.size) throw new Error(`leaf ${start} was pruned`);
      return this.leafAt(start);
    }
    if (end <= this.prefix.size) throw new Error(`subtree [${start}, ${end}) was pruned`);
    const k = splitPoint(end - start);
    return nodeHash(this.hash(start, start + k), this.hash(start + k, end));
  }

  root(size: number): Buffer {
    return size === 0 ? EMPTY_ROOT : this.hash(0, size);
  }

  /** RFC 6962 PATH(m, D[0:size]): the audit path of leaf `index`, bottom first. */
  inclusionProof(index: number, size: number): Buffer[] {
    if (!(index >= 0 && index < size)) throw new Error(`leaf ${index} is not in a tree of size ${size}`);
    const path: Buffer[] = [];
    const walk = (m: number, start: number, end: number): void => {
      if (end - start <= 1) return;
      const k = splitPoint(end - start);
      if (m < k) {
        walk(m, start, start + k);
        path.push(this.hash(start + k, end));
      } else {
        walk(m - k, start + k, end);
        path.push(this.hash(start, start + k));
      }
    };
    walk(index, 0, size);
    return path;
  }

  /** RFC 6962 PROOF(m, D[0:n]): proves the tree of size `n` extends the one of size `m`. */
  consistencyProof(m: number, n: number): Buffer[] {
    if (!(m > 0 && m <= n)) throw new Error(`no consistency proof from size ${m} to ${n}`);
    const proof: Buffer[] = [];
    const subproof = (mm: number, start: number, end: number, complete: boolean): void => {
      const size = end - start;
      if (mm === size) {
        if (!complete) proof.push(this.hash(start, end));
        return;
      }
      const k = splitPoint(size);
      if (mm <= k) {
        subproof(mm, start, start + k, complete);
        proof.push(this.hash(start + k, end));
      } else {
        subproof(mm - k, start + k, end, false);
        proof.push(this.hash(start, start + k));
      }
    };
    subproof(m, 0, n, true);
    return proof;
  }
}

/**
 * The RFC 6962 root of a list of leaf hashes.
 *
 * @example
 * merkleRoot([leafHash('{"a":1}')])
 */
export function merkleRoot(leaves: readonly Buffer[]): Buffer {
  const range = new CompactRange();
  for (const leaf of leaves) range.append(leaf);
  return range.root();
}

/**
 * Verifies an inclusion proof (RFC 9162 section 2.1.3.2).
 *
 * @example
 * verifyInclusion(leaf, 4, 10, proof, root) // true when leaf 4 is in the tree of size 10
 */
export function verifyInclusion(leaf: Buffer, index: number, size: number, proof: readonly Buffer[], root: Buffer): boolean {
  if (!(Number.isInteger(index) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/**
 * Verifies a consistency proof between two roots (RFC 9162 section 2.1.4.2).
 *
 * @example
 * verifyConsistency(100, 250, proof, checkpoint100.root, checkpoint250.root)
 */
export function verifyConsistency(m: number, n: number, proof: readonly Buffer[], oldRoot: Buffer, newRoot: Buffer): boolean {
  if (!(m > 0 && m <= n)) return false;
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  let path = [...proof];
  // When m is a power of two the old root is itself the first node of the path.
  if ((m & (m - 1)) === 0) path = [oldRoot, ...path];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const first = path[0];
  if (!first) return false;
  let fr = first;
  let sr = first;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}
