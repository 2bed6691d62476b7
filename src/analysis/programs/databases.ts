/**
 * Database clients (their SQL goes to the SQL analyzer), Redis, key-value stores, admin tools.
 */

import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { analyzeSqlText } from '../sql-analyzer.js';
import { classifyWrite, ev } from './effects.js';
import { type ProgramFamily, type VerbRow, type VerbTable, verbRow } from './family.js';
import { has, opts, val } from './options.js';
import { stdinEscapes } from './shells.js';

const dbClientRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const name = inv.name;
  const queries: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    const next = args[i + 1]?.value;
    if (
      (name === 'psql' && (v === '-c' || v === '--command')) ||
      (/^(mysql|mariadb)$/.test(name) && (v === '-e' || v === '--execute')) ||
      (name === 'sqlcmd' && (v === '-Q' || v === '-q')) ||
      (/^(clickhouse-client|clickhouse)$/.test(name) && (v === '-q' || v === '--query')) ||
      (name === 'cqlsh' && (v === '-e' || v === '--execute')) ||
      (name === 'influx' && (v === '-execute' || v === '--execute'))
    ) {
      if (next !== undefined) queries.push(next);
      i++;
    } else if (/^--(command|execute|query)=/.test(v)) queries.push(v.replace(/^--[a-z]+=/, ''));
    else if (/^(mongo|mongosh)$/.test(name) && v === '--eval' && next !== undefined) {
      queries.push(next);
      i++;
    } else if (/^-[ce].+/.test(v) && /^(psql|mysql|mariadb)$/.test(name)) queries.push(v.slice(2));
  }
  if (name === 'sqlite3') {
    const ops = args.filter((a) => !a.value.startsWith('-'));
    if (ops[1] !== undefined)
      queries.push(
        ops
          .slice(1)
          .map((a) => a.value)
          .join(' '),
      );
  }
  if (name === 'redis-cli') return redisRule(inv, site);
  stdinEscapes(inv, site);
  if (inv.stdin?.text !== undefined) {
    // Client commands on stdin (`.shell`, `\!`, `.tables`) are not SQL: escapes were analyzed above, dot-commands here.
    const lines = inv.stdin.text.split('\n');
    if (name === 'sqlite3') for (const l of lines.filter((x) => /^\s*\.(?!shell\s|system\s)/.test(x)).slice(0, 16)) sqliteDot(l, inv, site);
    const sql = lines.filter((x) => !/^\s*(\.|\\!|system\s)/.test(x)).join('\n');
    if (sql.trim() !== '') queries.push(sql);
  } else if (inv.stdin !== undefined && queries.length === 0) site.add('db.write', 'medium', ev(inv, 'runs statements from stdin the analyzer cannot see'));
  const file = args.find(
    (a, k) =>
      (name === 'psql' && (a.value === '-f' || a.value === '--file' || /^--file=/.test(a.value) || /^-f./.test(a.value))) ||
      (/^(mongo|mongosh)$/.test(name) && k > 0 && /\.(js|mongodb)$/.test(a.value)),
  );
  if (file !== undefined) site.add('db.write', 'medium', ev(inv, 'runs statements from a file the analyzer cannot see'));
  for (const q of queries) {
    // Client commands that run a shell: sqlite3 `.shell`/`.system`, psql and mysql `\!`, mysql `system`.
    const shellEscape = /^\s*(?:\.(?:shell|system)|\\!|system)\s+([\s\S]*)$/.exec(q);
    if (shellEscape !== null && (name !== 'psql' || !q.trimStart().startsWith('system'))) {
      site.add('exec.obfuscated', 'high', ev(inv, `${name} runs a shell command`));
      site.shell(shellEscape[1] ?? '', { ...inv, stdin: undefined });
      continue;
    }
    if (name === 'sqlite3' && /^\s*\./.test(q)) {
      sqliteDot(q, inv, site);
      continue;
    }
    // psql meta-commands (`\dt`, `\l`, `\d users`) describe the database; they are not SQL.
    if (name === 'psql' && /^\s*\\(d[a-zA-Z+]*|l\+?|conninfo|x|timing|dn|du|df|dv|dt|list|h|\?)(\s|$)/.test(q) && !q.includes(';')) continue;
    const sql = analyzeSqlText(q);
    // Carried as the SQL analyzer reports them: DML and DDL come back as `db.write` or `db.destructive`.
    for (const f of sql.findings) site.add(f.category, f.risk, ev(inv, f.evidence));
    if (!sql.parsed) site.add('db.destructive', 'medium', ev(inv, 'query the SQL parser could not read'));
  }
  return {};
};

/** sqlite3 dot-commands: reads, except `.load` (native code), `.output` (a file) and `.read`/`.import`. */
function sqliteDot(q: string, inv: Invocation, site: Site): void {
  const [cmd = '', arg] = q.trim().split(/\s+/);
  if (cmd === '.load') site.add('exec.obfuscated', 'high', ev(inv, 'sqlite3 loads a native extension'));
  else if ((cmd === '.output' || cmd === '.once' || cmd === '.save' || cmd === '.backup') && arg !== undefined) classifyWrite(lit(arg), site, inv.text);
  else if (cmd === '.read') site.add('db.write', 'medium', ev(inv, 'runs statements from a file the analyzer cannot see'));
  else if (cmd === '.import' || cmd === '.restore') site.add('db.write', 'low', ev(inv, `sqlite3 ${cmd}`));
}

const REDIS_VALUED = 'hpsaunridDt';

const REDIS_LONG = [
  'user',
  'pass',
  'askpass',
  'cacert',
  'cacertdir',
  'cert',
  'key',
  'sni',
  'pattern',
  'count',
  'quoted-pattern',
  'eval',
  'rdb',
  'functions-rdb',
  'memkeys-samples',
  'intrinsic-latency',
  'lru-test',
  'replica',
  'tls-ciphers',
  'tls-ciphersuites',
  'show-pushes',
];

const REDIS_WIPE_ALL = { verbs: ['flushall'], finding: { category: 'db.destructive', risk: 'critical' }, why: 'deletes every key of every database' } as const satisfies VerbRow;
const REDIS_WIPE = { verbs: ['flushdb', 'shutdown'], finding: { category: 'db.destructive', risk: 'high' }, why: 'deletes a database or stops the server' } as const satisfies VerbRow;
const REDIS_REPLACE = { verbs: ['replicaof', 'slaveof', 'debug'], finding: { category: 'db.destructive', risk: 'high' }, why: 'can replace or crash the dataset' } as const satisfies VerbRow;
const REDIS_CONFIG = { verbs: ['config'], finding: { category: 'db.destructive', risk: 'medium' }, why: 'changes the server configuration (`CONFIG GET` reads)' } as const satisfies VerbRow;
const REDIS_DELETE = { verbs: ['del', 'unlink'], finding: { category: 'db.write', risk: 'medium' }, why: 'deletes keys' } as const satisfies VerbRow;
const REDIS_CODE = {
  verbs: ['eval', 'evalsha', 'fcall', 'script', 'function', 'module', 'acl', 'client', 'cluster', 'failover', 'migrate', 'restore'],
  finding: { category: 'db.write', risk: 'medium' },
  why: 'runs scripts or changes the server, its clients or the cluster (their listing subcommands read; `SCRIPT FLUSH`, `FUNCTION FLUSH` are `db.destructive` medium)',
} as const satisfies VerbRow;
const REDIS_WRITE = {
  verbs: [
    'set',
    'setnx',
    'setex',
    'psetex',
    'mset',
    'msetnx',
    'append',
    'incr',
    'incrby',
    'incrbyfloat',
    'decr',
    'decrby',
    'getset',
    'getdel',
    'getex',
    'setbit',
    'setrange',
    'bitop',
    'bitfield',
    'hset',
    'hsetnx',
    'hmset',
    'hincrby',
    'hincrbyfloat',
    'hdel',
    'lpush',
    'rpush',
    'lpushx',
    'rpushx',
    'lpop',
    'rpop',
    'lset',
    'linsert',
    'lrem',
    'ltrim',
    'rpoplpush',
    'lmove',
    'lmpop',
    'blpop',
    'brpop',
    'brpoplpush',
    'blmove',
    'blmpop',
    'sadd',
    'srem',
    'spop',
    'smove',
    'sinterstore',
    'sunionstore',
    'sdiffstore',
    'zadd',
    'zrem',
    'zincrby',
    'zpopmin',
    'zpopmax',
    'bzpopmin',
    'bzpopmax',
    'zmpop',
    'bzmpop',
    'zremrangebyscore',
    'zremrangebyrank',
    'zremrangebylex',
    'zunionstore',
    'zinterstore',
    'zdiffstore',
    'zrangestore',
    'xadd',
    'xdel',
    'xtrim',
    'xgroup',
    'xack',
    'xclaim',
    'xautoclaim',
    'xsetid',
    'pfadd',
    'pfmerge',
    'geoadd',
    'georadius',
    'georadiusbymember',
    'geosearchstore',
    'expire',
    'expireat',
    'pexpire',
    'pexpireat',
    'persist',
    'rename',
    'renamenx',
    'move',
    'copy',
    'restore-asking',
    'sort',
    'publish',
    'spublish',
    'save',
    'bgsave',
    'bgrewriteaof',
    'multi',
    'exec',
    'eval_ro',
    'evalsha_ro',
    'json.*',
    'ts.*',
    'bf.*',
    'cf.*',
    'ft.*',
  ],
  finding: { category: 'db.write', risk: 'low' },
  why: 'changes data (`SORT` without `STORE` reads)',
} as const satisfies VerbRow;

/** Redis commands (case-insensitive); any other command reads. */
export const REDIS_VERBS: VerbTable = {
  program: 'redis-cli',
  rows: [REDIS_WIPE_ALL, REDIS_WIPE, REDIS_REPLACE, REDIS_CONFIG, REDIS_DELETE, REDIS_CODE, REDIS_WRITE],
  otherwise: { why: 'reads (`GET`, `KEYS`, `SCAN`, `INFO` …)' },
};

/** redis-cli: the command and its arguments come after the options; stdin holds commands when there are none. */
function redisRule(inv: Invocation, site: Site): SubOutput {
  const o = opts(inv.argv.slice(1), REDIS_VALUED, REDIS_LONG, true);
  if (val(o, 'eval') !== undefined) site.add('db.write', 'medium', ev(inv, 'runs a Lua script file in Redis'));
  if (has(o, 'pipe')) site.add('db.write', 'medium', ev(inv, 'mass insertion of the commands on stdin'));
  const rdb = val(o, 'rdb', 'functions-rdb');
  if (rdb !== undefined) classifyWrite(rdb, site, inv.text);
  const words = o.rest;
  if (words.length === 0) {
    const text = inv.stdin?.text;
    if (text !== undefined)
      for (const line of text.split('\n').slice(0, 64))
        redisCommand(
          line
            .trim()
            .split(/\s+/)
            .filter((w) => w !== ''),
          inv,
          site,
        );
    else if (inv.stdin !== undefined && !has(o, 'pipe')) site.add('db.write', 'medium', ev(inv, 'runs Redis commands from stdin'));
    return {};
  }
  redisCommand(
    words.map((w) => w.value),
    inv,
    site,
  );
  return {};
}

function redisCommand(words: string[], inv: Invocation, site: Site): void {
  const cmd = (words[0] ?? '').toLowerCase();
  const sub = (words[1] ?? '').toLowerCase();
  if (cmd === '') return;
  const row = verbRow(REDIS_VERBS, cmd);
  if (row?.finding === undefined) return;
  const { category, risk } = row.finding;
  if (row === REDIS_WIPE_ALL || row === REDIS_WIPE) site.add(category, risk, ev(inv, `redis ${cmd.toUpperCase()}`));
  else if (row === REDIS_REPLACE) site.add(category, risk, ev(inv, `redis ${cmd.toUpperCase()} can replace or crash the dataset`));
  else if (row === REDIS_CONFIG) {
    if (sub !== 'get' && sub !== 'help') site.add(category, risk, ev(inv, `redis CONFIG ${sub.toUpperCase()}`));
  } else if ((cmd === 'script' || cmd === 'function') && sub === 'flush') site.add('db.destructive', 'medium', ev(inv, `redis ${cmd.toUpperCase()} FLUSH`));
  else if (row === REDIS_DELETE) site.add(category, risk, ev(inv, `redis ${cmd.toUpperCase()} deletes keys`));
  else {
    // Read-only forms of the multi-purpose commands.
    const readOnly =
      ((cmd === 'script' || cmd === 'function') && /^(exists|list|stats|dump|help)$/.test(sub)) ||
      ((cmd === 'client' || cmd === 'cluster' || cmd === 'acl' || cmd === 'module') &&
        /^(list|info|getname|id|help|nodes|slots|shards|myid|whoami|cat|users|getuser|log|keyslot|countkeysinslot|getkeysinslot)$/.test(sub)) ||
      (cmd === 'sort' && !words.some((w) => w.toLowerCase() === 'store'));
    if (!readOnly) site.add(category, risk, ev(inv, `redis ${cmd.toUpperCase()} changes data`));
  }
}

const pgRestoreRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^(-l|--list|--help|-\?|--version|-V)$/.test(v))) return {};
  const clean = values.some((v) => v === '--clean' || /^-[a-zA-Z]*c[a-zA-Z]*$/.test(v));
  site.add(clean ? 'db.destructive' : 'db.write', clean ? 'high' : 'medium', ev(inv, clean ? 'pg_restore --clean drops objects before restoring' : 'restores a dump into a database'));
  return {};
};

/** etcdctl, consul kv: key-value stores that hold a cluster's configuration and secrets. */
const kvStoreRule: ProgramRule = (inv, site) => {
  const words = inv.argv.slice(1).map((a) => a.value);
  const ops = words.filter((w) => !w.startsWith('-'));
  const wide = words.some((w) => /^(--prefix|-recurse|--from-key)$/.test(w));
  const verb = inv.name === 'consul' ? (ops[0] === 'kv' ? (ops[1] ?? '') : '') : (ops[0] ?? '');
  if (/^(del|delete|rm)$/.test(verb)) site.add('db.destructive', wide ? 'critical' : 'medium', ev(inv, wide ? `${inv.name} deletes every key under a prefix` : `${inv.name} deletes a key`));
  else if (/^(put|txn|compaction|defrag|lease|import)$/.test(verb)) site.add('db.write', 'low', ev(inv, `${inv.name} ${verb}`));
  else if (/^(get|export|snapshot)$/.test(verb) && (wide || ops.some((o) => /secret|registry/.test(o)) || verb !== 'get')) {
    site.add('secret.read', 'high', ev(inv, `${inv.name} dumps the key-value store (it holds secrets)`));
    return { secret: true };
  }
  return {};
};

const dropdbRule: ProgramRule = (inv, site) => {
  if (!inv.argv.slice(1).some((a) => /^(--help|-\?|--version|-V)$/.test(a.value)))
    site.add('db.destructive', inv.name === 'dropdb' ? 'critical' : 'high', ev(inv, inv.name === 'dropdb' ? 'drops a database' : 'drops a database role'));
  return {};
};

const mysqladminRule: ProgramRule = (inv, site) => {
  const words = inv.argv
    .slice(1)
    .map((a) => a.value)
    .filter((v) => !v.startsWith('-'));
  if (words.includes('drop')) site.add('db.destructive', 'critical', ev(inv, 'drops a database'));
  if (words.includes('shutdown')) site.add('service.control', 'high', ev(inv, 'shuts the database server down'));
  if (words.some((w) => /^(kill|password|flush-privileges|reload|refresh)$/.test(w))) site.add('db.write', 'medium', ev(inv, 'changes the database server'));
  return {};
};

/** Database clients (their SQL goes to the SQL analyzer), Redis, key-value stores, admin tools. */
export const DATABASE_PROGRAMS: ProgramFamily = {
  title: 'Databases',
  verbs: [REDIS_VERBS],
  rules: [
    ['psql mysql mariadb sqlite3 mongo mongosh redis-cli sqlcmd clickhouse-client cqlsh influx', dbClientRule],
    ['pg_restore', pgRestoreRule],
    ['etcdctl consul', kvStoreRule],
    ['dropdb dropuser', dropdbRule],
    ['mysqladmin', mysqladminRule],
  ],
};
