/**
 * The checkpoint signing key on disk: an Ed25519 key pair created on first open, the private
 * half readable by its owner only (mode 0600), the public half beside it for export.
 */

import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDirectory } from '../storage/directory.js';

export const PRIVATE_KEY_FILE = 'audit-signing-key.pem';
export const PUBLIC_KEY_FILE = 'audit-signing-key.pub.pem';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
}

/** Loads the key pair from `dir`; returns a message when it is missing, unreadable or exposed. */
export function loadSigningKey(dir: string): SigningKey | string {
  const file = join(dir, PRIVATE_KEY_FILE);
  if (!existsSync(file)) return `signing key \`${file}\` does not exist`;
  try {
    if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
      return `signing key \`${file}\` is readable by other users: run \`chmod 600\` on it`;
    }
    const privateKey = createPrivateKey(readFileSync(file, 'utf8'));
    if (privateKey.asymmetricKeyType !== 'ed25519') return `signing key \`${file}\` is not an Ed25519 key`;
    const publicKey = createPublicKey(privateKey);
    return { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  } catch (err) {
    return `signing key \`${file}\` cannot be read: ${err instanceof Error ? err.message.toLowerCase() : String(err)}`;
  }
}

/** Creates a new key pair in `dir` (which must not hold one yet). */
export function createSigningKey(dir: string): SigningKey {
  const problem = ensureDirectory(dir);
  if (problem) throw new Error(problem);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const file = join(dir, PRIVATE_KEY_FILE);
  // `wx`: never overwrite a key another process just created.
  writeFileSync(file, privatePem, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  writeFileSync(join(dir, PUBLIC_KEY_FILE), publicKeyPem, { mode: 0o644 });
  return { privateKey, publicKey, publicKeyPem };
}
