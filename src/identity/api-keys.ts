/**
 * API keys for agents and service accounts: the port (`ApiKeyStore`), the small backend an
 * adapter implements (`ApiKeyBackend`), and `apiKeyStoreOver`, which adds everything that
 * must not differ between adapters: the key format, the randomness, the hashing, the
 * constant-time comparison and the input checks.
 *
 * A key reads `bst_<id>_<secret>`: `bst_` so a leaked key is recognisable (secret scanners,
 * logs), a 16-hex-digit id by which it is looked up, and 256 random bits (43 base64url
 * characters). Only the SHA-256 of the secret is stored: a copy of the data directory does not
 * hold a usable key. `create` hands the key out once; nothing can show it again.
 *
 * Adapters: `createMemoryApiKeyStore` (`storage/memory/api-keys.ts`) and
 * `openSqliteApiKeyStore` (`storage/sqlite/api-key-store.ts`); both pass the contract suite
 * `test/storage/contracts/api-keys.ts`.
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BastionException, bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';

/** What is known of a key, never its secret. */
export interface ApiKeyRecord {
  /** The key's id (the part after `bst_`), how it is listed and revoked. */
  id: string;
  /** Who the key identifies. */
  principal: { id: string; groups: string[] };
  /** When it was made (ms since the epoch). */
  createdAt: number;
  /** When it was revoked, if it was. */
  revokedAt?: number;
  /** Free text saying what the key is for. */
  description?: string;
}

/** A record as an adapter stores it: the record and the hash of the secret. */
export interface StoredApiKey extends ApiKeyRecord {
  /** SHA-256 of the secret, lowercase hex. */
  secretHash: string;
}

/** What an adapter implements; `apiKeyStoreOver` adds the rules. */
export interface ApiKeyBackend {
  /** Stores a new key; false when the id is taken. */
  insert(key: StoredApiKey): Promise<boolean>;
  read(id: string): Promise<StoredApiKey | undefined>;
  /** Every key, oldest first. */
  list(): Promise<StoredApiKey[]>;
  /** Sets `revokedAt` unless already set; the key after it, or undefined for an unknown id. */
  revoke(id: string, now: number): Promise<StoredApiKey | undefined>;
  close(): Promise<void>;
}

/** The answer of a lookup: a key is valid, revoked, unknown, or not a Bastion key at all. */
export type ApiKeyLookup = { status: 'valid'; record: ApiKeyRecord } | { status: 'revoked'; record: ApiKeyRecord } | { status: 'unknown'; id: string } | { status: 'malformed' };

export interface NewApiKey {
  principal: { id: string; groups?: string[] };
  description?: string;
}

export interface ApiKeyStore {
  /** Makes a key; the answer holds the key itself, which is never shown again. */
  create(input: NewApiKey, now: number): Promise<Result<{ key: string; record: ApiKeyRecord }, BastionError>>;
  /** Every key (revoked ones too), oldest first, without secrets. */
  list(): Promise<ApiKeyRecord[]>;
  /** Revokes a key by id (revoking twice keeps the first time); `NOT_FOUND` for an unknown id. */
  revoke(id: string, now: number): Promise<Result<ApiKeyRecord, BastionError>>;
  /** Checks a presented key. */
  lookup(key: string): Promise<ApiKeyLookup>;
  close(): Promise<void>;
}

/** The prefix every Bastion API key starts with. */
export const API_KEY_PREFIX = 'bst_';
const KEY_FORMAT = /^bst_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ID_FORMAT = /^[0-9a-f]{16}$/;

/** Whether a bearer token is meant as an API key (the prefix), well formed or not. */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/**
 * The id and secret of a key, or undefined when it is not in Bastion's format.
 *
 * @example parseApiKey('bst_0123456789abcdef_' + 'A'.repeat(43)) // { id: '0123456789abcdef', secret: 'AAA…' }
 */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_FORMAT.exec(key);
  return m ? { id: m[1] as string, secret: m[2] as string } : undefined;
}

/** Whether `id` has the form of a key id (16 lowercase hex digits). */
export function isApiKeyId(id: string): boolean {
  return ID_FORMAT.test(id);
}

const hashOf = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkNewKey(input: NewApiKey): BastionError[] {
  const errors: BastionError[] = [];
  const bad = (field: string, message: string) => errors.push(bastionError('INPUT_INVALID', `api key: ${field}: ${message}`, { field }));
  const id = input.principal?.id;
  if (typeof id !== 'string' || id.trim() === '' || CONTROL.test(id)) bad('principal', 'the principal id must be a non-empty string without control characters');
  for (const g of input.principal?.groups ?? []) {
    if (typeof g !== 'string' || g.trim() === '' || CONTROL.test(g) || /[\s,]/.test(g)) bad('groups', `group ${quote(g)} must be a non-empty name without spaces or commas`);
  }
  if (input.description !== undefined && (typeof input.description !== 'string' || CONTROL.test(input.description))) bad('description', 'must be one line of text');
  return errors;
}

function publicRecord(stored: StoredApiKey): ApiKeyRecord {
  const record: ApiKeyRecord = { id: stored.id, principal: { id: stored.principal.id, groups: [...stored.principal.groups] }, createdAt: stored.createdAt };
  if (stored.revokedAt !== undefined) record.revokedAt = stored.revokedAt;
  if (stored.description !== undefined) record.description = stored.description;
  return record;
}

/** A hash to compare against when the id is unknown, so a miss costs what a hit costs. */
const DECOY_HASH = hashOf('bastion decoy secret');

/**
 * An API key store over an adapter's backend.
 *
 * @example
 * const keys = apiKeyStoreOver(backend);
 * const made = await keys.create({ principal: { id: 'deploy-bot', groups: ['ci'] } }, Date.now());
 * if (made.ok) console.log(made.value.key); // bst_3f9c…_…, shown once
 */
export function apiKeyStoreOver(backend: ApiKeyBackend): ApiKeyStore {
  return {
    async create(input, now) {
      const errors = checkNewKey(input);
      if (errors.length > 0) return fail(...errors);
      // A taken id (2^-64 per pair) is drawn again rather than overwritten.
      for (let attempt = 0; attempt < 5; attempt++) {
        const id = randomBytes(8).toString('hex');
        const secret = randomBytes(32).toString('base64url');
        const stored: StoredApiKey = {
          id,
          principal: { id: input.principal.id, groups: [...new Set(input.principal.groups ?? [])] },
          createdAt: now,
          secretHash: hashOf(secret),
          ...(input.description !== undefined && input.description !== '' ? { description: input.description } : {}),
        };
        if (await backend.insert(stored)) return ok({ key: `${API_KEY_PREFIX}${id}_${secret}`, record: publicRecord(stored) });
      }
      throw new BastionException(bastionError('STATE_STORAGE', 'the api key store keeps refusing new ids'));
    },
    list: async () => (await backend.list()).map(publicRecord),
    async revoke(id, now) {
      if (typeof id !== 'string' || !isApiKeyId(id))
        return fail(bastionError('INPUT_INVALID', `api key id ${quote(id)} is not a key id (16 hex digits, as \`bastion keys list\` shows)`, { field: 'id' }));
      const revoked = await backend.revoke(id, now);
      return revoked === undefined ? fail(bastionError('NOT_FOUND', `no api key has id ${quote(id)}`, { field: 'id' })) : ok(publicRecord(revoked));
    },
    async lookup(key) {
      const parsed = typeof key === 'string' ? parseApiKey(key) : undefined;
      if (parsed === undefined) return { status: 'malformed' };
      const stored = await backend.read(parsed.id);
      const presented = Buffer.from(hashOf(parsed.secret), 'hex');
      // INVARIANT: the secret is compared in constant time, and an unknown id compares too.
      const same = timingSafeEqual(presented, Buffer.from(stored?.secretHash ?? DECOY_HASH, 'hex'));
      if (stored === undefined || !same) return { status: 'unknown', id: parsed.id };
      return stored.revokedAt !== undefined ? { status: 'revoked', record: publicRecord(stored) } : { status: 'valid', record: publicRecord(stored) };
    },
    close: () => backend.close(),
  };
}
