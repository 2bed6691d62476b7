// Model-API proxy figures: the latency the proxy adds in front of a provider, against calling
// the same local fake provider directly, in the same run, one request at a time (closed loop,
// keep-alive), direct and proxied requests interleaved so both see the same machine. Each
// answer carries one tool call (`sys:execute {"cmd": "ls -la"}`, allowed for an SRE by the
// Fortified SRE seed), so every proxied request makes one full decision: shell analysis,
// content scan, policy, audit. Plain answers are timed to the last byte of the body, streamed
// ones to the last event. Targets: added ≤ 1 ms at the median, ≤ 5 ms at p99.
//
// Three processes, as in production: the fake provider (`examples/proxy/fake-provider.mjs`),
// a real `bastion serve` (development mode, SQLite in a temporary data directory), and this
// client. Two configurations: `durable` (the audit log synchronous=FULL, the default: every
// decision is on disk before the answer) and `buffered` (`audit: { durable: false }`).
//
// Run as `node bench/proxy.bench.mjs <out.json>` after `npm run build`.
// Environment: BASTION_BENCH_PROXY_REQUESTS (per mode and side, default 1000).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = process.argv[2];
const REQUESTS = Number(process.env.BASTION_BENCH_PROXY_REQUESTS ?? 1000);
const WARMUP = Math.min(200, Math.ceil(REQUESTS / 5));

/** Spawns a node script; resolves with the first URL it prints, and a stop function. */
async function start(args, pattern) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const url = await new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (c) => {
      text += c;
      const m = pattern.exec(text);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${err}`)));
  });
  const stop = () =>
    new Promise((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', r);
      child.kill('SIGTERM');
    });
  return { url, stop };
}

const HEADERS = {
  'content-type': 'application/json',
  authorization: 'Bearer ignored',
  'x-controlzero-user-id': 'sre-user-1',
  'x-controlzero-user-group': 'sre-ops',
  'x-controlzero-danger-level': 'low',
};

async function once(base, stream) {
  const started = performance.now();
  const r = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Execute this: ls -la' }], stream }),
  });
  const text = await r.text();
  const ms = performance.now() - started;
  if (r.status !== 200 || !text.includes('sys:execute')) throw new Error(`unexpected answer ${r.status}: ${text.slice(0, 200)}`);
  return ms;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x) => Math.round(x * 1000) / 1000;

async function measure(direct, proxied, stream) {
  for (let i = 0; i < WARMUP; i++) {
    await once(direct, stream);
    await once(proxied, stream);
  }
  const d = [];
  const p = [];
  for (let i = 0; i < REQUESTS; i++) {
    d.push(await once(direct, stream));
    p.push(await once(proxied, stream));
  }
  d.sort((a, b) => a - b);
  p.sort((a, b) => a - b);
  const directMs = { median: round(pct(d, 50)), p99: round(pct(d, 99)) };
  const proxiedMs = { median: round(pct(p, 50)), p99: round(pct(p, 99)) };
  return { requests: REQUESTS, directMs, proxiedMs, addedMs: { median: round(proxiedMs.median - directMs.median), p99: round(proxiedMs.p99 - directMs.p99) } };
}

async function run(durable, upstream) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-bench-proxy-'));
  const config = join(dataDir, 'bastion.yaml');
  writeFileSync(config, [`dataDir: ${dataDir}`, `policies: [${join(root, 'examples/control-zero')}]`, `upstream: ${upstream}`, 'dev: true', `audit: { durable: ${durable} }`, ''].join('\n'));
  const bastion = await start([join(root, 'dist/cli/main.js'), 'serve', '--config', config, '--port', '0', '--log-level', 'off'], /listening on (http:\/\/\S+)/);
  try {
    const proxied = `${bastion.url}/v1`;
    return { plain: await measure(upstream, proxied, false), streamed: await measure(upstream, proxied, true) };
  } finally {
    await bastion.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const provider = await start([join(root, 'examples/proxy/fake-provider.mjs'), '--port', '0'], /on (http:\/\/\S+)/);
let results;
try {
  // The machine's load, before and after: each proxied request wakes three processes, so a
  // busy machine's scheduling shows in these figures more than in the direct ones.
  const before = loadavg()[0];
  const durable = await run(true, provider.url);
  const buffered = await run(false, provider.url);
  results = { target: { addedMedianMs: 1, addedP99Ms: 5 }, loadAverage: { before: round(before), after: round(loadavg()[0]) }, durable, buffered };
} finally {
  await provider.stop();
}
for (const kind of ['durable', 'buffered']) {
  for (const mode of ['plain', 'streamed']) {
    const r = results[kind][mode];
    const met = r.addedMs.median <= 1 && r.addedMs.p99 <= 5 ? 'met' : 'NOT met';
    console.log(
      `proxy ${kind.padEnd(8)} ${mode.padEnd(8)}: direct ${r.directMs.median} ms (p99 ${r.directMs.p99}), proxied ${r.proxiedMs.median} ms (p99 ${r.proxiedMs.p99}), added ${r.addedMs.median} ms (p99 ${r.addedMs.p99}): target ${met}`,
    );
  }
}
if (out) writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
