/**
 * The checkpoint signing key and where it comes from. A log is opened with a key provider:
 * `keyDirectory(dir)` keeps an Ed25519 key pair in files (created on the first open of a
 * new log, the private half readable by its owner only, mode 0600, the public half beside
 * it for export); `ephemeralKey()` makes one for this process only (in-memory logs). Several
 * replicas appending to one chain share one key: the same key files on each (see
 * docs/audit.md).
 */

import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_KEY_FILE = 'audit-signing-key.pem';
export const PUBLIC_KEY_FILE = 'audit-signing-key.pub.pem';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
}

/** Where a log's signing key comes from. */
export interface AuditKeyProvider {
  /** Where the key lives, for messages (user input in backticks). */
  readonly where: string;
  /**
   * The key; `{missing}` when there is none yet (a new log may then `create` one); a message
   * when there is one that cannot be used (unreadable, exposed, not Ed25519).
   */
  load(): SigningKey | { missing: string } | string;
  /** Makes and keeps a new key (only for a log that has none). */
  create(): SigningKey;
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

function generate(): { key: SigningKey; privatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    key: { privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Creates a new key pair in `dir` (which must not hold one yet; the directory itself is made when missing, one level). */
export function createSigningKey(dir: string): SigningKey {
  // One level only: callers that take a data directory from users create it first
  // (`ensureDirectory` in src/storage), which also copes with kernels that answer oddly.
  if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
  const { key, privatePem } = generate();
  const file = join(dir, PRIVATE_KEY_FILE);
  // `wx`: never overwrite a key another process just created.
  writeFileSync(file, privatePem, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  writeFileSync(join(dir, PUBLIC_KEY_FILE), key.publicKeyPem, { mode: 0o644 });
  return key;
}

/**
 * The signing key kept as files in `dir`.
 *
 * @example
 * await openAuditLog({ store, key: keyDirectory('.bastion') });
 */
export function keyDirectory(dir: string): AuditKeyProvider {
  return {
    where: `\`${dir}\``,
    load() {
      const key = loadSigningKey(dir);
      if (typeof key !== 'string') return key;
      return existsSync(join(dir, PRIVATE_KEY_FILE)) ? key : { missing: key };
    },
    create: () => createSigningKey(dir),
  };
}

/**
 * A signing key made for this process and never written anywhere: for in-memory logs (a
 * persistent store opened with it once cannot be opened with another).
 *
 * @example
 * await openAuditLog({ store: createMemoryAuditStore(), key: ephemeralKey() });
 */
export function ephemeralKey(): AuditKeyProvider {
  let key: SigningKey | undefined;
  return {
    where: 'an ephemeral key',
    load: () => key ?? { missing: 'the log was signed by another key than this ephemeral one' },
    create: () => (key = generate().key),
  };
}
