/**
 * Real JWTs for tests: key pairs made with jose, a JWKS written to a file or served by a real
 * HTTP server on 127.0.0.1:0 (with a hit counter, key rotation and an outage switch), and
 * tokens signed with given claims.
 *
 *   const key = await makeKeyPair('ES256', 'k1');
 *   const jwks = await serveJwks([key]);            // jwks.url, jwks.hits, jwks.setKeys([...]), jwks.fail(503)
 *   const token = await signToken(key, { sub: 'alice', groups: ['sre'] }, { issuer: ISSUER, audience: 'bastion' });
 *   await jwks.close();
 */

import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const TEST_ISSUER = 'https://idp.test.example/';
export const TEST_AUDIENCE = 'bastion';

export interface TestKey {
  alg: string;
  kid: string;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
  /** The public JWK with `kid`, `alg` and `use: sig`. */
  jwk: JWK;
}

let counter = 0;

/** A fresh key pair (`ES256` by default) with a `kid`. */
export async function makeKeyPair(alg = 'ES256', kid = `test-key-${++counter}`): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, publicKey, privateKey, jwk };
}

/** The JWK set of the keys' public halves. */
export function jwksOf(keys: readonly TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.jwk) };
}

/** Writes the keys' JWKS to `path`; returns the path. */
export function writeJwks(path: string, keys: readonly TestKey[]): string {
  writeFileSync(path, JSON.stringify(jwksOf(keys), null, 2));
  return path;
}

/** Writes the key's public half as PEM SPKI (`BEGIN PUBLIC KEY`); returns the path. */
export async function writePublicKeyPem(path: string, key: TestKey): Promise<string> {
  writeFileSync(path, await exportSPKI(key.publicKey));
  return path;
}

export interface SignOptions {
  issuer?: string;
  audience?: string | string[];
  /** Seconds from now (negative: already expired); default 300. `null` leaves `exp` out. */
  expiresIn?: number | null;
  /** Seconds from now. */
  notBefore?: number;
  /** Header members over `{ alg, kid }` (e.g. another `kid`, or `kid: undefined`). */
  header?: Record<string, unknown>;
}

/** A token signed with `key`, with `claims` and the registered claims `options` describe (issuer and audience default to the test ones). */
export async function signToken(key: TestKey, claims: Record<string, unknown>, options: SignOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: key.alg, kid: key.kid, ...options.header };
  const jwt = new SignJWT(claims).setProtectedHeader(header as { alg: string }).setIssuedAt(now);
  jwt.setIssuer(options.issuer ?? TEST_ISSUER);
  jwt.setAudience(options.audience ?? TEST_AUDIENCE);
  if (options.expiresIn !== null) jwt.setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
  return await jwt.sign(key.privateKey);
}

export interface JwksServer {
  /** The JWKS URL, `http://127.0.0.1:<port>/jwks.json`. */
  url: string;
  /** How many times the JWKS was fetched. */
  hits(): number;
  /** Serves these keys from now on (key rotation). */
  setKeys(keys: readonly TestKey[]): void;
  /** Answers every fetch with this status (e.g. 503), or serves the keys again with `undefined`. */
  fail(status: number | undefined): void;
  /** Stops listening: fetches then fail to connect. */
  close(): Promise<void>;
}

/** A real JWKS endpoint on 127.0.0.1, port 0. */
export async function serveJwks(initial: readonly TestKey[]): Promise<JwksServer> {
  let keys = [...initial];
  let failing: number | undefined;
  let hits = 0;
  const server: Server = createServer((request, response) => {
    hits++;
    if (request.url !== '/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    if (failing !== undefined) {
      response.writeHead(failing, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwksOf(keys)));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    hits: () => hits,
    setKeys: (next) => {
      keys = [...next];
    },
    fail: (status) => {
      failing = status;
    },
    close: () => {
      if (closed) return Promise.resolve();
      closed = true;
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}
