/**
 * PostgreSQL and Redis for tests. Each test run gets its own database (created here, dropped
 * at cleanup) and its own Redis key prefix, so runs never see each other's data. Without the
 * services, tests skip with a clear message, unless `BASTION_REQUIRE_SERVICES` is set (as in
 * `.ci/run`), where a missing service fails the run.
 *
 * @example
 * const pg = await postgresAvailable();
 * describe.skipIf(!pg)('on PostgreSQL', () => { … await createTestDatabase() … });
 */

import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.BASTION_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BASTION_TEST_REDIS ?? 'redis://127.0.0.1:6379';

const required = (): boolean => (process.env.BASTION_REQUIRE_SERVICES ?? '') !== '';

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function available(name: string, url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  const up = await portOpen(hostname, Number(port));
  if (up) return true;
  const message = `${name} is not reachable at ${hostname}:${port}`;
  if (required()) throw new Error(`${message}, and BASTION_REQUIRE_SERVICES is set (see ../shared/SERVICES.md to start it)`);
  console.warn(`skipping ${name} tests: ${message} (set BASTION_REQUIRE_SERVICES=1 to fail instead)`);
  return false;
}

/** True when PostgreSQL answers; false (with a warning) when it does not and it is not required; throws when required and absent. */
export function postgresAvailable(): Promise<boolean> {
  return available('PostgreSQL', POSTGRES_ADMIN_URL);
}

/** As {@link postgresAvailable}, for Redis. */
export function redisAvailable(): Promise<boolean> {
  return available('Redis', REDIS_URL);
}

export interface TestDatabase {
  /** A connection URL to a fresh, empty database of this run's own. */
  url: string;
  name: string;
  /** Drops the database (terminating connections still open to it). */
  drop: () => Promise<void>;
}

/** Creates a fresh database named `bastion_t_<random>` on the test server. */
export async function createTestDatabase(label = 't'): Promise<TestDatabase> {
  const name = `bastion_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A Redis key prefix of this run's own, e.g. `bastion-test:3f9a…:`. */
export function testRedisPrefix(label = 't'): string {
  return `bastion-test:${label}:${randomBytes(6).toString('hex')}:`;
}
