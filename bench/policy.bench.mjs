// Policy engine figures: latency (median, p99) and decisions per second of `evaluate` on
// 100,000 seeded random requests against a generated 20-rule and 1,000-rule set, and the
// same 1,000-rule set translated to Cedar and run with @cedar-policy/cedar-wasm in a child
// process (bench/cedar-worker.mjs), checked to reach the same allow/deny on every request
// it evaluates. Run as `node bench/policy.bench.mjs <out.json>` after `npm run build`.
//
// How it measures
// - Latency: every call is timed on its own with process.hrtime.bigint(). Timing batches
//   would only give a mean; the p99 target is about single decisions, so each one needs its
//   own stopwatch. The pair of hrtime calls costs ~0.05-0.1 µs (measured and reported as
//   `timerOverheadUs`); it is left in the figures, which therefore err on the slow side.
// - Throughput: one untimed loop over all requests, timed as a whole (best of 3 passes,
//   each pass on one core: `evaluate` is synchronous and this process runs one thread).
// - Before measuring, one full pass warms the JIT and the engine's per-action candidate
//   cache (the steady state of a running gateway) and records the decisions.
//
// Cedar mapping (restricted by construction to what both engines express the same way)
// - rule → one Cedar policy, `@id("<policy>/<rule>")`; allow → permit, deny → forbid,
//   require_approval → permit with `@bastion_effect("require_approval")` (it is a
//   conditional permit in Bastion), so Bastion's allow and require_approval both compare
//   to Cedar's allow, and Bastion's deny (explicit or default) to Cedar's deny. Forbid
//   overrides permit in Cedar as deny overrides everything in Bastion; priority only orders
//   explanations in Bastion and has no Cedar counterpart.
// - principals: `user:u1` → `principal == User::"u1"`, `group:g` → `principal in Group::"g"`
//   (the request's User entity has its groups as parents), `*` → `principal`; a rule with
//   two principals → `when { principal in [Group::"g", User::"u"] }`.
// - actions: literal `svc_3.read` → `Action::"svc_3.read"`; glob `svc_3.*` → the action
//   group `Action::"svc_3.*"`, which every request's action entity has as parent; a rule's
//   list → `action in [...]`.
// - resources and environments (globs): `context.resource` / `context.environment` with
//   `like` (`*` means the same in both); absent in the request means only rules without the
//   constraint match, as in Bastion (`context has …` guards).
// - argument matchers `args.amount gte/lt N`, `args.region equals/in` → `context.args`
//   comparisons guarded by `has` (a missing field does not match in either engine).
// - no analysis and no declared risk, so Bastion's baseline (risk-driven) never applies.
//
// Cedar cost: cedar-wasm 4.13 evaluates the 1,000-policy set in milliseconds per call here,
// so within the ~2-minute budget it runs on an evenly spaced sample of the 100,000 requests
// (BASTION_BENCH_CEDAR_REQUESTS, default 5,000; set 100000 for the full check, ~5-10 min).
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadPolicySet } from '../dist/policy/load.js';
// The pure engine on facts that say nothing (no analyzer or scanner runs), as before issue 9
// made `evaluate()` build facts like the gateway: this measures policy evaluation alone.
import { decide, NO_FACTS } from '../dist/policy/engine.js';

const evaluate = (set, request) => decide(set, request, NO_FACTS);

const REQUESTS = Number(process.env.BASTION_BENCH_POLICY_REQUESTS ?? 100_000);
const CEDAR_REQUESTS = Math.min(REQUESTS, Number(process.env.BASTION_BENCH_CEDAR_REQUESTS ?? 5_000));
const CEDAR_STATELESS_REQUESTS = Math.min(CEDAR_REQUESTS, Number(process.env.BASTION_BENCH_CEDAR_STATELESS_REQUESTS ?? 20));
const CEDAR_CHUNK = 1_000;
const SEED = 0xba5710;
const TARGET = { p99Us: 10, decisionsPerSecond: 300_000, cedarSpeedup: 50 };

// ---------------------------------------------------------------------------------------
// Seeded generation

/** mulberry32: small, fast, good enough for test data; same seed, same sequence. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VERBS = ['read', 'list', 'get', 'create', 'update', 'delete', 'deploy', 'restart'];
const ENVIRONMENTS = ['dev', 'staging', 'prod-eu', 'prod-us'];
const ENV_PATTERNS = ['dev', 'staging', 'prod-*', 'prod-eu'];
const REGIONS = ['eu', 'us', 'ap'];

function makeTools(rng) {
  const int = (n) => Math.floor(rng() * n);
  const pick = (list) => list[int(list.length)];
  const some = (n, make) => [...new Set(Array.from({ length: n }, make))];
  return { int, pick, some };
}

/** The world a set is written for: services (8 verbs each), groups, users with 1-3 groups. */
function makeUniverse(ruleCount, rng) {
  const { int, some } = makeTools(rng);
  const services = Math.max(3, Math.round(ruleCount / 10));
  const groups = Array.from({ length: Math.max(4, Math.round(ruleCount / 30)) }, (_, i) => `team-${i}`);
  const users = Array.from({ length: Math.max(20, Math.round(ruleCount / 5)) }, (_, i) => ({
    id: `u${i}`,
    groups: some(1 + int(3), () => groups[int(groups.length)]),
  }));
  const members = new Map(groups.map((g) => [g, users.filter((u) => u.groups.includes(g))]));
  return { services, groups, users, members };
}

function makeRule(rng, u, id) {
  const { int, pick, some } = makeTools(rng);
  const r = rng();
  const effect = r < 0.6 ? 'allow' : r < 0.75 ? 'require_approval' : 'deny';
  const s = int(u.services);
  const p = rng();
  const principals = p < 0.72 ? [`group:${pick(u.groups)}`] : p < 0.87 ? [`user:${pick(u.users).id}`] : p < 0.92 ? ['*'] : [`group:${pick(u.groups)}`, `user:${pick(u.users).id}`];
  const actions = some(rng() < 0.7 ? 1 : 2, () => (rng() < 0.7 ? `svc_${s}.${pick(VERBS)}` : `svc_${s}.*`));
  const rule = { id, effect, principals, actions };
  if (rng() < 0.4) {
    const choices = [`repo:org/svc-${s}-*`, `repo:org/svc-${s}-${int(4)}`, `db:prod/svc-${s}`, `bucket:svc-${s}-*`];
    rule.resources = some(1 + int(2), () => pick(choices));
  }
  if (rng() < 0.5) rule.environments = some(1 + int(2), () => pick(ENV_PATTERNS));
  if (rng() < 0.2) {
    const matcher = () => {
      const m = int(4);
      if (m === 0) return { field: 'args.amount', gte: 100 * (1 + int(20)) };
      if (m === 1) return { field: 'args.amount', lt: 100 * (1 + int(20)) };
      if (m === 2) return { field: 'args.region', equals: pick(REGIONS) };
      return { field: 'args.region', in: some(2, () => pick(REGIONS)) };
    };
    rule.when = rng() < 0.15 ? [matcher(), matcher()] : [matcher()];
  }
  return rule;
}

/** Native policies: `ruleCount` rules in policies of at most 100, with mixed priorities. */
function makePolicies(ruleCount, rng, u) {
  const { int } = makeTools(rng);
  const policies = [];
  for (let start = 0, k = 0; start < ruleCount; start += 100, k++) {
    const n = Math.min(100, ruleCount - start);
    policies.push({
      apiVersion: 'bastion/v1',
      name: `bench-${ruleCount}-${k}`,
      priority: int(10) * 10,
      rules: Array.from({ length: n }, (_, i) => makeRule(rng, u, `r${start + i}`)),
    });
  }
  return policies;
}

/** Turns a glob from a rule into a concrete value it matches. */
function instantiate(pattern, rng) {
  const { int, pick } = makeTools(rng);
  if (pattern === 'prod-*') return pick(['prod-eu', 'prod-us']);
  if (pattern.startsWith('repo:')) return pattern.replace('*', String(int(4)));
  return pattern.replace('*', 'logs');
}

function serviceResources(s) {
  return [`repo:org/svc-${s}-0`, `repo:org/svc-${s}-1`, `repo:org/svc-${s}-2`, `repo:org/svc-${s}-3`, `db:prod/svc-${s}`, `bucket:svc-${s}-logs`];
}

/**
 * Requests: 60% aimed at a random rule (a principal it names, an action, resource and
 * environment it covers — the rule may still lose to a deny or fail its argument matcher),
 * 40% uniform over the universe, including unknown principals and actions no rule names.
 */
function makeRequests(count, rng, u, rules) {
  const { int, pick } = makeTools(rng);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    let principal;
    let action;
    let resource;
    let environment;
    if (rng() < 0.6) {
      const rule = pick(rules);
      const who = pick(rule.principals);
      if (who === '*') principal = pick(u.users);
      else if (who.startsWith('group:')) principal = pick(u.members.get(who.slice(6)).length > 0 ? u.members.get(who.slice(6)) : u.users);
      else principal = u.users[Number(who.slice(6))];
      const a = pick(rule.actions);
      action = a.endsWith('*') ? a.slice(0, -1) + pick(VERBS) : a;
      const s = Number(action.slice(4, action.indexOf('.')));
      resource = rule.resources ? instantiate(pick(rule.resources), rng) : rng() < 0.85 ? pick(serviceResources(s)) : undefined;
      environment = rule.environments ? instantiate(pick(rule.environments), rng) : rng() < 0.85 ? pick(ENVIRONMENTS) : undefined;
    } else {
      principal = rng() < 0.95 ? pick(u.users) : { id: `guest${int(1000)}`, groups: rng() < 0.5 ? [] : ['contractors'] };
      const s = int(u.services);
      action = rng() < 0.9 ? `svc_${s}.${pick(VERBS)}` : `legacy_${int(50)}.${pick(VERBS)}`;
      resource = rng() < 0.8 ? pick(serviceResources(s)) : undefined;
      environment = rng() < 0.85 ? pick(ENVIRONMENTS) : undefined;
    }
    const args = { note: 'bench' };
    if (rng() < 0.8) args.amount = int(2500);
    if (rng() < 0.7) args.region = pick(REGIONS);
    const request = { principal, action, args };
    if (resource !== undefined) request.resource = resource;
    if (environment !== undefined) request.environment = environment;
    out[i] = request;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Cedar translation

const cedarString = (s) => JSON.stringify(s); // ids and patterns here hold no `*` escapes beyond the wildcard

function cedarPrincipal(p) {
  if (p.startsWith('group:')) return `Group::${cedarString(p.slice(6))}`;
  return `User::${cedarString(p.startsWith('user:') ? p.slice(5) : p)}`;
}

function cedarGlobTest(field, patterns) {
  const tests = patterns.map((p) => (p.includes('*') ? `context.${field} like ${cedarString(p)}` : `context.${field} == ${cedarString(p)}`));
  return `context has ${field} && (${tests.join(' || ')})`;
}

function cedarMatcher(m) {
  const name = m.field.slice('args.'.length);
  const guard = `context.args has ${name}`;
  if ('gte' in m) return `${guard} && context.args.${name} >= ${m.gte}`;
  if ('lt' in m) return `${guard} && context.args.${name} < ${m.lt}`;
  if ('equals' in m) return `${guard} && context.args.${name} == ${cedarString(m.equals)}`;
  if ('in' in m) return `${guard} && [${m.in.map(cedarString).join(', ')}].contains(context.args.${name})`;
  throw new Error(`no Cedar mapping for matcher ${JSON.stringify(m)}`);
}

function toCedarPolicy(policyName, rule) {
  const annotations = [`@id(${cedarString(`${policyName}/${rule.id}`)})`];
  if (rule.effect === 'require_approval') annotations.push('@bastion_effect("require_approval")');
  const conditions = [];
  let principalScope = 'principal';
  if (!rule.principals.includes('*')) {
    if (rule.principals.length === 1) {
      const p = rule.principals[0];
      principalScope = p.startsWith('group:') ? `principal in ${cedarPrincipal(p)}` : `principal == ${cedarPrincipal(p)}`;
    } else conditions.push(`principal in [${rule.principals.map(cedarPrincipal).join(', ')}]`);
  }
  const actions = rule.actions.map((a) => `Action::${cedarString(a)}`).join(', ');
  if (rule.resources) conditions.push(cedarGlobTest('resource', rule.resources));
  if (rule.environments) conditions.push(cedarGlobTest('environment', rule.environments));
  for (const m of rule.when ?? []) conditions.push(cedarMatcher(m));
  const effect = rule.effect === 'deny' ? 'forbid' : 'permit';
  const when = conditions.length > 0 ? `\nwhen { ${conditions.map((c) => `(${c})`).join(' && ')} }` : '';
  return `${annotations.join('\n')}\n${effect} (${principalScope}, action in [${actions}], resource)${when};`;
}

function toCedarCall(req) {
  const context = { args: req.args };
  if (req.resource !== undefined) context.resource = req.resource;
  if (req.environment !== undefined) context.environment = req.environment;
  const service = req.action.slice(0, req.action.indexOf('.'));
  return {
    principal: { type: 'User', id: req.principal.id },
    action: { type: 'Action', id: req.action },
    resource: { type: 'Resource', id: req.resource ?? '-' },
    context,
    entities: [
      { uid: { type: 'User', id: req.principal.id }, attrs: {}, parents: req.principal.groups.map((g) => ({ type: 'Group', id: g })) },
      { uid: { type: 'Action', id: req.action }, attrs: {}, parents: [{ type: 'Action', id: `${service}.*` }] },
    ],
  };
}

// ---------------------------------------------------------------------------------------
// Measurement

function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function latencySummary(ns) {
  const sorted = Float64Array.from(ns).sort();
  const us = (v) => Math.round(v / 10) / 100;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { medianUs: us(percentile(sorted, 0.5)), p99Us: us(percentile(sorted, 0.99)), p999Us: us(percentile(sorted, 0.999)), maxUs: us(sorted[sorted.length - 1]), meanUs: us(sum / sorted.length) };
}

function timerOverheadNs() {
  const n = 100_000;
  const ns = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    ns[i] = Number(process.hrtime.bigint() - t0);
  }
  return ns.sort()[n >> 1];
}

function benchBastion(label, set, requests) {
  const n = requests.length;
  const decisions = new Array(n);
  for (let i = 0; i < n; i++) decisions[i] = evaluate(set, requests[i]).decision; // warm-up
  const mix = { allow: 0, deny: 0, require_approval: 0 };
  for (const d of decisions) mix[d]++;

  // Throughput: best of three untimed passes.
  let bestNs = Infinity;
  let sink = 0;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += evaluate(set, requests[i]).matched.length;
    const elapsed = Number(process.hrtime.bigint() - t0);
    if (elapsed < bestNs) bestNs = elapsed;
  }

  // Latency: each call timed on its own.
  const ns = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const d = evaluate(set, requests[i]);
    const t1 = process.hrtime.bigint();
    ns[i] = Number(t1 - t0);
    sink += d.matched.length;
  }
  const figures = { rules: set.rules.length, requests: n, ...latencySummary(ns), decisionsPerSecond: Math.round(n / (bestNs / 1e9)), decisionMix: mix };
  if (sink < 0) console.log(sink); // keeps the results observable
  console.log(
    `${label}: ${figures.rules} rules, ${n} requests: median ${figures.medianUs} µs, p99 ${figures.p99Us} µs, p99.9 ${figures.p999Us} µs, ` +
      `${figures.decisionsPerSecond.toLocaleString('en-US')} decisions/s (allow ${mix.allow}, approval ${mix.require_approval}, deny ${mix.deny})`,
  );
  return { figures, decisions };
}

/** Runs the Cedar worker over `calls` in chunks; resolves to decisions and timings. */
function runCedar(policyText, jobs, sets = {}) {
  return new Promise((resolve, reject) => {
    const worker = fork(new URL('./cedar-worker.mjs', import.meta.url), [], { execArgv: ['--max-semi-space-size=64'], serialization: 'advanced' });
    const results = {};
    let version;
    let parseMs;
    let job = 0;
    let offset = 0;
    let current;
    const next = () => {
      while (job < jobs.length && offset >= jobs[job].calls.length) {
        job++;
        offset = 0;
      }
      if (job >= jobs.length) {
        worker.send({ type: 'exit' });
        return;
      }
      const j = jobs[job];
      current = j;
      results[j.name] ??= { decisions: [], ns: [], loopNs: 0, failures: 0, firstFailure: undefined };
      const calls = j.calls.slice(offset, offset + (j.chunk ?? CEDAR_CHUNK));
      offset += calls.length;
      worker.send({ type: 'chunk', mode: j.mode, calls });
    };
    worker.on('message', (msg) => {
      if (msg.type === 'error') {
        worker.kill();
        reject(new Error(msg.message));
      } else if (msg.type === 'ready') {
        version = msg.version;
        parseMs = msg.parseMs;
        next();
      } else if (msg.type === 'result') {
        const r = results[current.name];
        for (const d of msg.decisions) r.decisions.push(d);
        for (const v of msg.ns) r.ns.push(v);
        r.loopNs += msg.loopNs;
        r.failures += msg.failures;
        r.firstFailure ??= msg.firstFailure;
        next();
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code, signal) => {
      if (code === 0) resolve({ version, parseMs, results });
      else reject(new Error(`cedar worker exited with ${code ?? signal}`));
    });
    worker.send({ type: 'init', id: 'bench', policies: policyText, sets });
  });
}

// ---------------------------------------------------------------------------------------
// Run

const out = process.argv[2];
if (!out) {
  console.error('usage: node bench/policy.bench.mjs <out.json>');
  process.exit(2);
}

const timerNs = timerOverheadNs();
console.log(`timer overhead (hrtime pair): ${(timerNs / 1000).toFixed(3)} µs, left in the latency figures`);

const results = { requests: REQUESTS, seed: SEED, timerOverheadUs: Math.round(timerNs / 10) / 100, sets: {} };
const worlds = {};
for (const ruleCount of [20, 1000]) {
  const rng = prng(SEED + ruleCount);
  const universe = makeUniverse(ruleCount, rng);
  const policies = makePolicies(ruleCount, rng, universe);
  const rules = policies.flatMap((p) => p.rules);
  const loadStart = process.hrtime.bigint();
  const loaded = loadPolicySet(policies.map((document) => ({ source: `${document.name}.json`, document })));
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  if (!loaded.ok) throw new Error(`generated policy set rejected: ${loaded.errors.map((e) => e.message).join('; ')}`);
  const requests = makeRequests(REQUESTS, rng, universe, rules);
  const { figures, decisions } = benchBastion(`bastion ${ruleCount}`, loaded.value, requests);
  results.sets[ruleCount] = { ...figures, loadMs: Math.round(loadMs) };
  worlds[ruleCount] = { policies, requests, decisions };
}

// Cedar, on the 1,000-rule set.
const world = worlds[1000];
const cedarText = world.policies.flatMap((p) => p.rules.map((r) => toCedarPolicy(p.name, r))).join('\n\n');
const step = REQUESTS / CEDAR_REQUESTS;
const sample = Array.from({ length: CEDAR_REQUESTS }, (_, i) => Math.floor(i * step));
const statelessSample = Array.from({ length: CEDAR_STATELESS_REQUESTS }, (_, i) => sample[Math.floor((i * sample.length) / CEDAR_STATELESS_REQUESTS)]);
const warmup = Array.from({ length: 100 }, (_, i) => toCedarCall(world.requests[(i * 997) % REQUESTS]));
// Cedar's fast setup: one preparsed set per action namespace (`service` of `service.op`),
// holding every policy that names an action of that namespace. An action's only parent is
// its own `service.*` group, so a policy outside the namespace can never apply: the split
// decides exactly as the whole set does (the bench checks it request by request).
const namespaceOf = (action) => action.slice(0, action.indexOf('.'));
const byNamespace = {};
for (const p of world.policies) {
  for (const r of p.rules) {
    const text = toCedarPolicy(p.name, r);
    for (const ns of new Set(r.actions.map(namespaceOf))) (byNamespace[`ns:${ns}`] ??= []).push(text);
  }
}
const namespaceSets = Object.fromEntries(Object.entries(byNamespace).map(([id, texts]) => [id, texts.join('\n\n')]));
const namespacedCall = (req) => {
  const id = `ns:${namespaceOf(req.action)}`;
  // A namespace no policy names gets the empty set: Cedar denies by default, as Bastion does.
  namespaceSets[id] ??= '';
  return { ...toCedarCall(req), setId: id };
};
const namespacedCalls = sample.map((i) => namespacedCall(world.requests[i]));
const cedar = await runCedar(
  cedarText,
  [
    { name: 'warmup', mode: 'warmup', calls: warmup },
    { name: 'stateful', mode: 'stateful', calls: sample.map((i) => toCedarCall(world.requests[i])) },
    { name: 'namespaced', mode: 'stateful', calls: namespacedCalls },
    { name: 'stateless', mode: 'stateless', calls: statelessSample.map((i) => toCedarCall(world.requests[i])), chunk: 5 },
  ],
  namespaceSets,
);

function compare(indexes, r) {
  let disagreements = 0;
  const examples = [];
  indexes.forEach((reqIndex, k) => {
    const bastion = world.decisions[reqIndex] === 'deny' ? 'deny' : 'allow';
    if (r.decisions[k] !== bastion) {
      disagreements++;
      if (examples.length < 3) examples.push({ request: world.requests[reqIndex], bastion: world.decisions[reqIndex], cedar: r.decisions[k] });
    }
  });
  return { disagreements, examples };
}

const stateful = cedar.results.stateful;
const namespaced = cedar.results.namespaced;
const stateless = cedar.results.stateless;
const statefulCheck = compare(sample, stateful);
const namespacedCheck = compare(sample, namespaced);
const statelessCheck = compare(statelessSample, stateless);
const bastion1000 = results.sets[1000];
const cedarStateful = {
  requests: sample.length,
  ...latencySummary(stateful.ns),
  decisionsPerSecond: Math.round(sample.length / (stateful.loopNs / 1e9)),
  disagreements: statefulCheck.disagreements,
  failures: stateful.failures,
};
const cedarNamespaced = {
  requests: sample.length,
  sets: Object.keys(namespaceSets).length,
  ...latencySummary(namespaced.ns),
  decisionsPerSecond: Math.round(sample.length / (namespaced.loopNs / 1e9)),
  disagreements: namespacedCheck.disagreements,
  failures: namespaced.failures,
};
const cedarStateless = {
  requests: statelessSample.length,
  ...latencySummary(stateless.ns),
  decisionsPerSecond: Math.round((statelessSample.length / (stateless.loopNs / 1e9)) * 100) / 100,
  disagreements: statelessCheck.disagreements,
  failures: stateless.failures,
};
// Per-decision speedup: Cedar's mean time per decision over Bastion's (throughput ratio),
// and the same for the medians.
// Measured against Cedar's fast setup (one preparsed set per namespace); the single
// preparsed set of all policies is reported beside it.
const speedup = Math.round((bastion1000.decisionsPerSecond / cedarNamespaced.decisionsPerSecond) * 10) / 10;
const medianSpeedup = Math.round((cedarNamespaced.medianUs / bastion1000.medianUs) * 10) / 10;
const speedupVsOneSet = Math.round((bastion1000.decisionsPerSecond / cedarStateful.decisionsPerSecond) * 10) / 10;
results.cedar = {
  version: cedar.version,
  policies: world.policies.reduce((n, p) => n + p.rules.length, 0),
  parseMs: Math.round(cedar.parseMs),
  stateful: cedarStateful,
  namespaced: cedarNamespaced,
  stateless: cedarStateless,
  bastionSpeedupVsOneSet: speedupVsOneSet,
  bastionSpeedup: speedup,
  bastionMedianSpeedup: medianSpeedup,
  bastionSpeedupVsStateless: Math.round(bastion1000.decisionsPerSecond / cedarStateless.decisionsPerSecond),
};
if (stateful.failures > 0) console.log(`cedar failures: ${stateful.failures} (first: ${stateful.firstFailure})`);
if (namespaced.failures > 0) console.log(`cedar (namespaced) failures: ${namespaced.failures} (first: ${namespaced.firstFailure})`);
for (const e of [...statefulCheck.examples, ...namespacedCheck.examples, ...statelessCheck.examples]) console.log('disagreement:', JSON.stringify(e));
console.log(
  `cedar ${cedar.version} (preparsed, statefulIsAuthorized), ${cedarStateful.requests} of the ${REQUESTS} requests: median ${cedarStateful.medianUs} µs, p99 ${cedarStateful.p99Us} µs, ` +
    `${cedarStateful.decisionsPerSecond.toLocaleString('en-US')} decisions/s, ${cedarStateful.disagreements} disagreements with bastion`,
);
console.log(
  `cedar ${cedar.version} (one preparsed set per namespace, ${cedarNamespaced.sets} sets), ${cedarNamespaced.requests} requests: median ${cedarNamespaced.medianUs} µs, p99 ${cedarNamespaced.p99Us} µs, ` +
    `${cedarNamespaced.decisionsPerSecond.toLocaleString('en-US')} decisions/s, ${cedarNamespaced.disagreements} disagreements with bastion`,
);
console.log(
  `cedar (stateless isAuthorized, policy text parsed per call), ${cedarStateless.requests} requests: median ${cedarStateless.medianUs} µs, ` +
    `${cedarStateless.decisionsPerSecond} decisions/s, ${cedarStateless.disagreements} disagreements`,
);

const targets = {
  p99: bastion1000.p99Us <= TARGET.p99Us,
  throughput: bastion1000.decisionsPerSecond >= TARGET.decisionsPerSecond,
  cedarSpeedup: speedup >= TARGET.cedarSpeedup,
  cedarAgreement:
    cedarStateful.disagreements === 0 && cedarNamespaced.disagreements === 0 && cedarStateless.disagreements === 0 && stateful.failures === 0 && namespaced.failures === 0 && stateless.failures === 0,
};
results.targets = { ...TARGET, met: targets };

const row = (name, f) => `${name.padEnd(34)}${String(f.medianUs).padStart(10)}${String(f.p99Us).padStart(10)}${f.decisionsPerSecond.toLocaleString('en-US').padStart(16)}`;
console.log('');
console.log(`${'engine'.padEnd(34)}${'median µs'.padStart(10)}${'p99 µs'.padStart(10)}${'decisions/s'.padStart(16)}`);
console.log(row('bastion, 20 rules', results.sets[20]));
console.log(row('bastion, 1,000 rules', bastion1000));
console.log(row('cedar-wasm, 1,000 (per namespace)', cedarNamespaced));
console.log(row('cedar-wasm, 1,000 (one set)', cedarStateful));
console.log(row('cedar-wasm, 1,000 (stateless)', cedarStateless));
console.log(
  `bastion/cedar per decision, against Cedar's per-namespace sets: ${speedup}× faster (medians: ${medianSpeedup}×; against one set of all policies: ${speedupVsOneSet}×; vs stateless isAuthorized: ${results.cedar.bastionSpeedupVsStateless}×)`,
);
console.log(
  `targets at 1,000 rules: p99 ≤ ${TARGET.p99Us} µs ${targets.p99 ? 'met' : 'MISSED'}; ≥ ${TARGET.decisionsPerSecond.toLocaleString('en-US')}/s ${targets.throughput ? 'met' : 'MISSED'}; ` +
    `≥ ${TARGET.cedarSpeedup}× cedar ${targets.cedarSpeedup ? 'met' : 'MISSED'}; same decisions as cedar ${targets.cedarAgreement ? 'yes' : 'NO'}`,
);

writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
