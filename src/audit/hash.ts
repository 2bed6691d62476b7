/**
 * The hashes of the audit trail: RFC 6962 leaf and interior node hashes (domain-separated by
 * a 0x00 / 0x01 prefix so a leaf can never pass for a node) and the per-event chain hash
 * `SHA-256(previous chain hash || leaf hash)`, which starts from 32 zero bytes.
 */

import { hash } from 'node:crypto';

export const HASH_BYTES = 32;
/** The chain hash before the first event. */
export const GENESIS_CHAIN_HASH: Buffer = Buffer.alloc(HASH_BYTES);

// Inputs of node and chain hashes are assembled here instead of with Buffer.concat: hashing
// is synchronous, so one scratch buffer serves every call.
const nodeInput = Buffer.alloc(1 + 2 * HASH_BYTES);
nodeInput[0] = 1;
const chainInput = Buffer.alloc(2 * HASH_BYTES);

// A short input would leave the previous call's bytes in the scratch buffer: refuse it.
function checkLengths(a: Buffer, b: Buffer): void {
  if (a.length !== HASH_BYTES || b.length !== HASH_BYTES) throw new RangeError(`hash inputs must be ${HASH_BYTES} bytes`);
}

function sha256(data: Buffer | string): Buffer {
  // crypto.hash is the one-shot API (no Hash object per call). Its 'buffer' output allocates
  // a fresh ArrayBuffer per digest, which costs more than the hash itself under load (and
  // keeps the garbage collector busy); a 'binary' (latin1) string maps byte for byte onto a Buffer
  // carved from Node's shared pool instead.
  return Buffer.from(hash('sha256', data, 'binary'), 'latin1');
}

/**
 * RFC 6962 leaf hash of an event's canonical JSON: `SHA-256(0x00 || utf8(json))`.
 *
 * @example
 * leafHash('{"seq":1}').toString('hex')
 */
export function leafHash(canonical: string): Buffer {
  // U+0000 encodes as the single byte 0x00 in UTF-8: one string, one encode, no concat.
  return sha256('\u0000' + canonical);
}

/** RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  checkLengths(left, right);
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_BYTES);
  return sha256(nodeInput);
}

/**
 * The chain hash of an event: `SHA-256(previous || leaf)`.
 *
 * @example
 * const first = chainHash(GENESIS_CHAIN_HASH, leafHash(json));
 */
export function chainHash(previous: Buffer, leaf: Buffer): Buffer {
  checkLengths(previous, leaf);
  chainInput.set(previous, 0);
  chainInput.set(leaf, HASH_BYTES);
  return sha256(chainInput);
}

/** The root of the empty tree (RFC 6962: the hash of the empty string). */
export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0));

// Verification's fast path keeps digests as 32-character latin1 strings (one char per byte):
// `crypto.hash` returns them without allocating a Buffer, and they are written straight into
// the scratch inputs. Buffer#latin1Write is the undocumented primitive behind
// `buf.write(s, o, 'latin1')`, without its encoding lookup; the documented call stands in
// should a Node release drop it.
type Latin1Writer = (buf: Buffer, text: string, offset: number) => void;
const latin1Write: Latin1Writer =
  typeof (Buffer.prototype as unknown as { latin1Write?: unknown }).latin1Write === 'function'
    ? (buf, text, offset) => {
        (buf as unknown as { latin1Write(s: string, o: number): number }).latin1Write(text, offset);
      }
    : (buf, text, offset) => {
        buf.write(text, offset, 'latin1');
      };

/** A digest as a 32-character latin1 string; `Buffer.from(d, 'latin1')` gives its bytes. */
export type Digest = string;

/** {@link leafHash} as a {@link Digest}. */
export function leafDigest(canonical: string): Digest {
  return hash('sha256', '\u0000' + canonical, 'binary');
}

/** {@link nodeHash} over two {@link Digest}s (each exactly 32 characters; callers ensure it). */
export function nodeDigest(left: Digest, right: Digest): Digest {
  latin1Write(nodeInput, left, 1);
  latin1Write(nodeInput, right, 1 + HASH_BYTES);
  return hash('sha256', nodeInput, 'binary');
}

/**
 * The running chain hash of a verifier: `next(leaf)` proposes the chain hash over the
 * current one, as lowercase hex to compare with a stored hash; `advance()` accepts it.
 *
 * @example
 * const chain = new ChainCursor(GENESIS_CHAIN_HASH);
 * if (chain.next(leafDigest(json)) === storedHex) chain.advance();
 */
export class ChainCursor {
  // [previous chain hash | leaf], and the proposed hash (hex) while it awaits advance().
  private readonly input = Buffer.alloc(2 * HASH_BYTES);
  private proposed = '';

  constructor(previous: Buffer) {
    checkLengths(previous, previous);
    previous.copy(this.input, 0);
  }

  next(leaf: Digest): string {
    latin1Write(this.input, leaf, HASH_BYTES);
    this.proposed = hash('sha256', this.input, 'hex');
    return this.proposed;
  }

  advance(): void {
    this.input.write(this.proposed, 0, 'hex');
  }

  /** The current chain hash. */
  current(): Buffer {
    return Buffer.from(this.input.subarray(0, HASH_BYTES));
  }
}
