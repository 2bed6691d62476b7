/**
 * The limit store in Redis, shared by every replica: each rate limit and budget step is one
 * Lua script, so Redis runs it atomically per key across all processes. The scripts make
 * only the write decision (the same floating-point steps as `gcra` and `spendBudget`, with
 * the operands computed here and passed as round-trip decimal strings); the verdict is then
 * computed here by those very functions from the state the script read, so Redis, SQLite and
 * memory answer alike (the contract suite `test/storage/contracts/limits.ts` holds it).
 *
 * Keys: `<prefix>r:<key>` holds a rate key's TAT, `<prefix>b:<key>` a budget's window start,
 * window length and spend. Every key expires by itself once it no longer changes any answer
 * (plus a minute's slack for clock skew between replicas), so Redis needs no pruning;
 * `prune(now)` still deletes early what `now` says is spent.
 *
 * Failures: while Redis is unreachable every step rejects at once (no offline queue, so a
 * decision never waits for a reconnect) with a `STATE_STORAGE` BastionException naming the
 * server, and the limits stage applies the documented fail mode (rate limits
 * `limits.onStoreError`, budgets closed). The client reconnects by itself, with backoff.
 * Error texts name `host:port`, never the URL (it may hold a password).
 */

import { Redis } from 'ioredis';
import { BastionException, bastionError, quote, type BastionError } from '../../core/errors.js';
import { fail, ok, type Result } from '../../core/result.js';
import type { BudgetState, LimitStore } from '../../limits/index.js';
import { checkBudget, checkRateLimit, gcra, spendBudget } from '../../limits/index.js';

/** As in `limits/rules.ts`: the float slack of GCRA and budgets. */
const EPSILON = 1e-6;
/** Kept past the moment a key stops mattering: replicas' clocks may differ by this much. */
const EXPIRY_SLACK_MS = 60_000;
const SCAN_COUNT = 500;

export const DEFAULT_REDIS_LIMIT_PREFIX = 'bastion:limits:';

export interface RedisLimitStoreOptions {
  /** Prefix of every key; replicas that share limits use the same (default `bastion:limits:`). */
  prefix?: string;
  /** How long one step may take before it fails (default 500 ms). */
  commandTimeoutMs?: number;
  /** How long a connection attempt may take (default 2000 ms). */
  connectTimeoutMs?: number;
  /** Hears when Redis becomes unreachable (with the reason) and when it is back (`undefined`). */
  onStatus?: (problem: string | undefined) => void;
}

/** A limit store in Redis; `ping` resolves when Redis answers. */
export interface RedisLimitStore extends LimitStore {
  /** `host:port` of the server (never the URL, which may hold a password). */
  readonly where: string;
  /** Resolves when Redis answers now; rejects with `STATE_STORAGE` when it does not. */
  ping(): Promise<void>;
}

// Lua 5.1 in Redis. tostring() keeps 14 digits only, so numbers are written with %.17g,
// which reads back as the same double.
const TAKE = `
local raw = redis.call('GET', KEYS[1])
local now = tonumber(ARGV[1])
local from = now
if raw then
  local tat = tonumber(raw)
  if tat == nil or tat ~= tat or tat == math.huge or tat == -math.huge then return redis.error_reply('BASTION_MALFORMED tat is not a number') end
  if tat >= now then from = tat end
end
local cost = tonumber(ARGV[5])
local nxt = from + tonumber(ARGV[3]) * cost
if nxt - tonumber(ARGV[4]) <= tonumber(ARGV[2]) and cost > 0 then
  local ttl = math.ceil(nxt - now) + tonumber(ARGV[6])
  if ttl < 1 then ttl = 1 end
  redis.call('SET', KEYS[1], string.format('%.17g', nxt), 'PX', ttl)
end
return raw or ''
`;

const SPEND = `
local raw = redis.call('GET', KEYS[1])
local ws = tonumber(ARGV[1])
local wm = tonumber(ARGV[2])
local spent = 0
if raw then
  local a, b, c = string.match(raw, '^(%S+) (%S+) (%S+)$')
  local sws, swm, sspent = tonumber(a), tonumber(b), tonumber(c)
  if sws == nil or swm == nil or sspent == nil or sws ~= sws or swm ~= swm or sspent ~= sspent or swm < 1 or sspent < 0 or sspent == math.huge then
    return redis.error_reply('BASTION_MALFORMED window start, window length or spend is not a number in range')
  end
  if sws == ws and swm == wm then spent = sspent end
end
local amount = tonumber(ARGV[3])
local after = spent + amount
if (after <= tonumber(ARGV[4]) or ARGV[5] == '1') and amount ~= 0 then
  redis.call('SET', KEYS[1], string.format('%.17g %.17g %.17g', ws, wm, after), 'PX', tonumber(ARGV[6]))
end
return raw or ''
`;

const PRUNE = `
local now = tonumber(ARGV[1])
local dropped = 0
for _, key in ipairs(KEYS) do
  local raw = redis.call('GET', key)
  if raw then
    local spent = false
    if string.sub(key, 1, string.len(ARGV[2])) == ARGV[2] then
      local tat = tonumber(raw)
      spent = tat ~= nil and tat <= now
    elseif string.sub(key, 1, string.len(ARGV[3])) == ARGV[3] then
      local a, b = string.match(raw, '^(%S+) (%S+) ')
      local ws, wm = tonumber(a), tonumber(b)
      spent = ws ~= nil and wm ~= nil and ws + wm <= now
    end
    if spent then dropped = dropped + redis.call('DEL', key) end
  end
end
return dropped
`;

interface LimitCommands {
  bastionTake(key: string, ...args: string[]): Promise<string>;
  bastionSpend(key: string, ...args: string[]): Promise<string>;
  bastionPrune(count: number, ...keysAndArgs: string[]): Promise<number>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `*`, `?`, `[`, `]` and `\` are glob characters in SCAN's MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * Where a `redis://` or `rediss://` URL points, or why it is unusable.
 *
 * @example redisTarget('redis://:secret@cache:6380/2') // { ok: true, value: 'cache:6380' }
 */
export function redisTarget(url: string): Result<string, BastionError> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail(bastionError('CONFIG_INVALID', 'the Redis URL is not a URL (expected redis://[user:password@]host[:port][/db] or rediss://…)'));
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return fail(bastionError('CONFIG_INVALID', `the Redis URL's scheme ${quote(parsed.protocol)} is not redis: or rediss:`));
  if (parsed.hostname === '') return fail(bastionError('CONFIG_INVALID', 'the Redis URL names no host'));
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) return fail(bastionError('CONFIG_INVALID', `the Redis URL's database ${quote(db)} is not a number`));
  return ok(`${parsed.hostname}:${parsed.port === '' ? '6379' : parsed.port}`);
}

/**
 * Opens a limit store on a Redis server. Resolves once the first connection is tried: when
 * Redis is not up yet the store is returned all the same (steps reject until it is; the
 * client keeps reconnecting), so a replica starts and reports the outage in `/health`
 * rather than refusing to start. Only an unusable URL or prefix is an error.
 *
 * @example
 * const opened = await openRedisLimitStore('redis://127.0.0.1:6379', { prefix: 'bastion:limits:' });
 * if (opened.ok) await opened.value.take('p:alice', { perPeriod: 10, periodMs: 1000, burst: 20 }, Date.now());
 */
export async function openRedisLimitStore(url: string, options: RedisLimitStoreOptions = {}): Promise<Result<RedisLimitStore, BastionError>> {
  const target = redisTarget(url);
  if (!target.ok) return target;
  const where = target.value;
  const prefix = options.prefix ?? DEFAULT_REDIS_LIMIT_PREFIX;
  if (typeof prefix !== 'string' || prefix.length > 128 || /[\s\0]/.test(prefix)) {
    return fail(bastionError('CONFIG_INVALID', `the Redis key prefix ${quote(prefix)} must be at most 128 characters without spaces or control characters`));
  }
  const ratePrefix = `${prefix}r:`;
  const budgetPrefix = `${prefix}b:`;
  const name = `limit store (Redis at ${where})`;
  let problem: string | undefined;
  const status = (next: string | undefined): void => {
    if (next === problem) return;
    const changed = (next === undefined) !== (problem === undefined);
    problem = next;
    if (changed) options.onStatus?.(next);
  };

  const redis = new Redis(url, {
    lazyConnect: true,
    // A decision must not wait for a reconnect: while down, every step fails at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    enableAutoPipelining: true,
  });
  redis.defineCommand('bastionTake', { numberOfKeys: 1, lua: TAKE });
  redis.defineCommand('bastionSpend', { numberOfKeys: 1, lua: SPEND });
  redis.defineCommand('bastionPrune', { lua: PRUNE });
  const commands = redis as unknown as Redis & LimitCommands;
  redis.on('error', (err: Error) => status(message(err)));
  redis.on('ready', () => status(undefined));
  redis.on('end', () => status('the connection is closed'));
  try {
    await redis.connect();
  } catch (err) {
    status(message(err));
  }

  let closed = false;
  const open = (): void => {
    if (closed) throw new BastionException(bastionError('STATE_STORAGE', 'the limit store is closed'));
  };
  const run = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    try {
      const out = await step();
      if (problem !== undefined && redis.status === 'ready') status(undefined);
      return out;
    } catch (err) {
      const text = message(err);
      if (text.startsWith('BASTION_MALFORMED')) throw new BastionException(bastionError('STATE_STORAGE', `the ${name}: a key's value is malformed (${text.slice(18)}) while trying to ${what}`));
      if (redis.status !== 'ready') status(text);
      throw new BastionException(bastionError('STATE_STORAGE', `the ${name} cannot ${what}: ${redis.status === 'ready' ? text : `not connected (${problem ?? text})`}`));
    }
  };
  const parseBudget = (raw: string): BudgetState | undefined => {
    if (raw === '') return undefined;
    const [windowStart, windowMs, spent] = raw.split(' ').map(Number) as [number, number, number];
    return { windowStart, windowMs, spent };
  };

  const store: RedisLimitStore = {
    where,
    async take(key, limit, now) {
      open();
      const error = checkRateLimit(key, limit, now);
      if (error) return fail(error);
      const interval = limit.periodMs / limit.perPeriod;
      const tolerance = interval * limit.burst;
      const cost = limit.cost ?? 1;
      const raw = await run('take from a rate limit', () =>
        commands.bastionTake(ratePrefix + key, String(now), String(now + EPSILON), String(interval), String(tolerance), String(cost), String(EXPIRY_SLACK_MS)),
      );
      return ok(gcra(raw === '' ? undefined : Number(raw), limit, now).verdict);
    },
    async spend(key, amount, limit, windowMs, now, spendOptions) {
      open();
      const error = checkBudget(key, amount, limit, windowMs, now, spendOptions);
      if (error) return fail(error);
      const windowStart = now - (now % windowMs);
      const ttl = Math.max(1, Math.ceil(windowStart + windowMs - now) + EXPIRY_SLACK_MS);
      const bound = limit + EPSILON * Math.max(1, limit);
      const raw = await run('spend from a budget', () =>
        commands.bastionSpend(budgetPrefix + key, String(windowStart), String(windowMs), String(amount), String(bound), spendOptions?.overdraw === true ? '1' : '0', String(ttl)),
      );
      return ok(spendBudget(parseBudget(raw), amount, limit, windowMs, now, spendOptions).verdict);
    },
    async prune(now) {
      open();
      if (typeof now !== 'number' || !Number.isFinite(now)) throw new BastionException(bastionError('LIMIT_INVALID', 'prune: now must be a time in ms since the epoch'));
      return run('prune spent keys', async () => {
        let dropped = 0;
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', SCAN_COUNT);
          cursor = next;
          if (keys.length > 0) dropped += await commands.bastionPrune(keys.length, ...keys, String(now), ratePrefix, budgetPrefix);
        } while (cursor !== '0');
        return dropped;
      });
    },
    async ping() {
      open();
      await run('answer a ping', () => redis.ping());
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (redis.status === 'ready') await redis.quit();
      } catch {
        // Closing anyway.
      } finally {
        redis.disconnect();
      }
    },
  };
  return ok(store);
}
