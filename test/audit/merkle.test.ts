import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chainHash, ChainCursor, EMPTY_ROOT, GENESIS_CHAIN_HASH, leafDigest, leafHash, nodeHash } from '../../src/audit/hash.js';
import { CompactRange, DigestRange, merkleRoot, SegmentRange, TreeHasher, verifyConsistency, verifyInclusion } from '../../src/audit/merkle.js';

// RFC 6962 section 2.1, written as plainly as possible to check the optimized code against.
function naiveRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

const LEAVES = Array.from({ length: 70 }, (_, i) => leafHash(JSON.stringify({ seq: i + 1 })));

describe('RFC 6962 Merkle tree', () => {
  it('joins compact ranges of any adjacent stretches into the root of all of them (how verification threads combine)', () => {
    const digests = LEAVES.map((l) => l.toString('latin1'));
    const stretch = (from: number, to: number): SegmentRange => {
      const range = SegmentRange.at(from);
      for (let i = from; i < to; i++) range.append(digests[i] as string);
      return range;
    };
    // Every prefix, cut at every pair of points (and with a pruned prefix's frontier first).
    for (let n = 1; n <= LEAVES.length; n++) {
      const want = naiveRoot(LEAVES.slice(0, n)).toString('hex');
      for (let a = 0; a <= n; a += 3) {
        for (let b = a; b <= n; b += 5) {
          const joined = stretch(0, a)
            .concat(stretch(a, b))
            .concat(SegmentRange.fromJSON(stretch(b, n).toJSON()));
          expect(joined.rootHex(), `size ${n} cut at ${a}, ${b}`).toBe(want);
          const prefix = new CompactRange();
          for (const leaf of LEAVES.slice(0, a)) prefix.append(leaf);
          expect(SegmentRange.ofPrefix(prefix).concat(stretch(a, n)).rootHex(), `size ${n} after a prefix of ${a}`).toBe(want);
        }
      }
    }
    expect(() => stretch(0, 3).concat(stretch(4, 6))).toThrow('does not follow');
    expect(() => stretch(2, 5).rootHex()).toThrow('not a prefix');
  });

  it('matches the RFC 6962 empty-tree and empty-leaf hashes', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash('').toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });

  it('computes the same root incrementally as the recursive definition, for every size up to 70', () => {
    const range = new CompactRange();
    for (let n = 1; n <= LEAVES.length; n++) {
      range.append(LEAVES[n - 1] as Buffer);
      expect(range.root().equals(naiveRoot(LEAVES.slice(0, n))), `size ${n}`).toBe(true);
    }
    expect(merkleRoot([]).equals(EMPTY_ROOT)).toBe(true);
  });

  it('gives the same roots and chain hashes on the digest-string path verification uses, from any prefix', () => {
    const bodies = Array.from({ length: 70 }, (_, i) => JSON.stringify({ seq: i + 1 }));
    for (const start of [0, 1, 5, 32]) {
      const prefix = new CompactRange();
      let previous = GENESIS_CHAIN_HASH;
      for (const body of bodies.slice(0, start)) {
        prefix.append(leafHash(body));
        previous = chainHash(previous, leafHash(body));
      }
      const range = DigestRange.from(prefix);
      const chain = new ChainCursor(previous);
      expect(range.rootHex(), `start ${start}`).toBe(prefix.root().toString('hex'));
      for (let n = start + 1; n <= bodies.length; n++) {
        const body = bodies[n - 1] as string;
        expect(Buffer.from(leafDigest(body), 'latin1').equals(leafHash(body))).toBe(true);
        previous = chainHash(previous, leafHash(body));
        expect(chain.next(leafDigest(body)), `chain at ${n} from ${start}`).toBe(previous.toString('hex'));
        chain.advance();
        range.append(leafDigest(body));
        expect(range.rootHex(), `root at ${n} from ${start}`).toBe(naiveRoot(LEAVES.slice(0, n)).toString('hex'));
      }
      expect(chain.current().equals(previous)).toBe(true);
    }
  });

  it('produces inclusion proofs that verify, and fail for the wrong leaf or index', () => {
    const hasher = new TreeHasher((i) => LEAVES[i] as Buffer);
    for (const size of [1, 2, 3, 7, 8, 33, 70]) {
      const root = naiveRoot(LEAVES.slice(0, size));
      for (let i = 0; i < size; i++) {
        const proof = hasher.inclusionProof(i, size);
        expect(verifyInclusion(LEAVES[i] as Buffer, i, size, proof, root), `leaf ${i} of ${size}`).toBe(true);
        if (size > 1) {
          expect(verifyInclusion(LEAVES[(i + 1) % size] as Buffer, i, size, proof, root)).toBe(false);
          expect(verifyInclusion(LEAVES[i] as Buffer, (i + 1) % size, size, proof, root)).toBe(false);
        }
      }
    }
  });

  it('produces consistency proofs that verify between every pair of sizes up to 40', () => {
    const hasher = new TreeHasher((i) => LEAVES[i] as Buffer);
    for (let n = 1; n <= 40; n++) {
      const newRoot = naiveRoot(LEAVES.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const proof = hasher.consistencyProof(m, n);
        const oldRoot = naiveRoot(LEAVES.slice(0, m));
        expect(verifyConsistency(m, n, proof, oldRoot, newRoot), `${m} -> ${n}`).toBe(true);
        if (m < n) expect(verifyConsistency(m, n, proof, naiveRoot(LEAVES.slice(1, m + 1)), newRoot), `forked ${m} -> ${n}`).toBe(false);
      }
    }
  });

  it('hashes and proves with a pruned prefix kept only as its compact range', () => {
    for (const pruned of [1, 3, 8, 13, 32]) {
      const prefix = new CompactRange();
      for (const leaf of LEAVES.slice(0, pruned)) prefix.append(leaf);
      const hasher = new TreeHasher((i) => {
        if (i < pruned) throw new Error(`read pruned leaf ${i}`);
        return LEAVES[i] as Buffer;
      }, prefix);
      const size = 70;
      const root = naiveRoot(LEAVES.slice(0, size));
      expect(hasher.root(size).equals(root)).toBe(true);
      for (let i = pruned; i < size; i++) {
        expect(verifyInclusion(LEAVES[i] as Buffer, i, size, hasher.inclusionProof(i, size), root), `leaf ${i} after pruning ${pruned}`).toBe(true);
      }
    }
  });

  it('round-trips a compact range through JSON', () => {
    const range = new CompactRange();
    for (const leaf of LEAVES.slice(0, 45)) range.append(leaf);
    expect(CompactRange.fromJSON(range.toJSON()).root().equals(range.root())).toBe(true);
    expect(range.spans()).toEqual([
      [0, 32],
      [32, 40],
      [40, 44],
      [44, 45],
    ]);
  });
});
