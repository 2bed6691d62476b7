/**
 * The hashes of the audit trail: RFC 6962 leaf and interior node hashes (domain-separated by
 * a 0x00 / 0x01 prefix so a leaf can never pass for a node) and the per-event chain hash
 * `SHA-256(previous chain hash || leaf hash)`, which starts from 32 zero bytes.
 */

import { hash } from 'node:crypto';

export const HASH_BYTES = 32;
/** The chain hash before the first event. */
export const GENESIS_CHAIN_HASH: Buffer = Buffer.alloc(HASH_BYTES);

const NODE_PREFIX = Buffer.from([1]);

function sha256(data: Buffer): Buffer {
  // crypto.hash is the one-shot API (no Hash object per call): about twice as fast here.
  return hash('sha256', data, 'buffer');
}

/**
 * RFC 6962 leaf hash of an event's canonical JSON: `SHA-256(0x00 || utf8(json))`.
 *
 * @example
 * leafHash('{"seq":1}').toString('hex')
 */
export function leafHash(canonical: string): Buffer {
  // U+0000 encodes as the single byte 0x00 in UTF-8: one string, one encode, no concat.
  return hash('sha256', '\u0000' + canonical, 'buffer');
}

/** RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`. */
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  return sha256(Buffer.concat([NODE_PREFIX, left, right], 1 + 2 * HASH_BYTES));
}

/**
 * The chain hash of an event: `SHA-256(previous || leaf)`.
 *
 * @example
 * const first = chainHash(GENESIS_CHAIN_HASH, leafHash(json));
 */
export function chainHash(previous: Buffer, leaf: Buffer): Buffer {
  return sha256(Buffer.concat([previous, leaf], 2 * HASH_BYTES));
}

/** The root of the empty tree (RFC 6962: the hash of the empty string). */
export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0));
