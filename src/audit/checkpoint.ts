/**
 * Signed checkpoints: an Ed25519 signature over (log id, size, Merkle root, chain hash,
 * time, reason). A checkpoint that left the machine pins everything before it: the log
 * operator can no longer change, drop or reorder those events, or cut the tail, without
 * the mismatch showing against it.
 */

import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.js';

export const CHECKPOINT_VERSION = 1;
// Domain separation: a checkpoint signature can never be replayed as a signature over
// some other document signed by the same key.
const SIGNING_CONTEXT = 'bastion-audit-checkpoint/v1\n';

export interface Checkpoint {
  v: number;
  /** SHA-256 of the signing key's SPKI DER, hex: names the log. */
  logId: string;
  /** Number of events covered: seq 1..size. */
  size: number;
  /** RFC 6962 Merkle root over events 1..size, hex. */
  root: string;
  /** Chain hash of event `size` (32 zero bytes when size is 0), hex. */
  chainHash: string;
  time: string;
  /** Why it was taken: `interval`, `events`, `kill_switch.changed`, `close`, `prune` … */
  reason: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

export type UnsignedCheckpoint = Omit<Checkpoint, 'signature'>;

function signedBytes(body: UnsignedCheckpoint): Buffer {
  const fields = { v: body.v, logId: body.logId, size: body.size, root: body.root, chainHash: body.chainHash, time: body.time, reason: body.reason };
  const json = canonicalJson(fields);
  if (!json.ok) throw new Error(`checkpoint is not canonicalizable: ${json.errors[0]?.message ?? ''}`);
  return Buffer.from(SIGNING_CONTEXT + json.value, 'utf8');
}

/**
 * The log id of a public key: SHA-256 of its SPKI DER encoding, hex.
 *
 * @example
 * logIdOf(createPublicKey(pem))
 */
export function logIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/**
 * Signs a checkpoint body with an Ed25519 private key.
 *
 * @example
 * const cp = signCheckpoint({ v: 1, logId, size, root, chainHash, time, reason: 'interval' }, privateKey);
 */
export function signCheckpoint(body: UnsignedCheckpoint, privateKey: KeyObject): Checkpoint {
  const signature = sign(null, signedBytes(body), privateKey).toString('base64');
  return { v: body.v, logId: body.logId, size: body.size, root: body.root, chainHash: body.chainHash, time: body.time, reason: body.reason, signature };
}

/**
 * Checks a checkpoint's signature and that it names the key's log; returns why not, or
 * undefined when it is genuine.
 *
 * @example
 * const problem = checkCheckpointSignature(cp, publicKey); // undefined when valid
 */
export function checkCheckpointSignature(cp: Checkpoint, publicKey: KeyObject): string | undefined {
  if (cp.v !== CHECKPOINT_VERSION) return `unknown checkpoint version \`${String(cp.v)}\``;
  if (cp.logId !== logIdOf(publicKey)) return 'checkpoint names another log (signing key differs)';
  let valid = false;
  try {
    valid = verify(null, signedBytes(cp), publicKey, Buffer.from(cp.signature, 'base64'));
  } catch {
    valid = false;
  }
  return valid ? undefined : 'checkpoint signature does not verify';
}

const HEX_HASH = /^[0-9a-f]{64}$/;

/**
 * Says what keeps a value from being a checkpoint (a missing field, a size that is not a
 * whole number, a hash that is not 64 hex digits), or undefined when it has the shape.
 * Its signature is not checked here.
 *
 * @example
 * checkpointShapeProblem({ size: 'ten' }) // 'field `v` is not a number'
 */
export function checkpointShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const cp = value as Record<string, unknown>;
  if (typeof cp['v'] !== 'number') return 'field `v` is not a number';
  if (typeof cp['size'] !== 'number' || !Number.isSafeInteger(cp['size']) || cp['size'] < 0) return 'field `size` is not a whole number';
  for (const field of ['root', 'chainHash']) {
    const hash = cp[field];
    if (typeof hash !== 'string' || !HEX_HASH.test(hash)) return `field \`${field}\` is not 64 lowercase hex digits`;
  }
  for (const field of ['logId', 'time', 'reason', 'signature']) {
    if (typeof cp[field] !== 'string') return `field \`${field}\` is not a string`;
  }
  return undefined;
}

/** Parses a PEM public key, or returns undefined when it is not one. */
export function parsePublicKey(pem: string): KeyObject | undefined {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}
