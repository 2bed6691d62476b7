// Model-API proxy figures: the latency the proxy adds in front of a provider, against calling
// the same local fake upstream directly, in the same run, one request at a time (closed
// loop, keep-alive), direct and proxied requests interleaved so both see the same machine.
// Each answer carries one tool call (`sys:execute {"cmd": "ls -la"}`, allowed for an SRE by the
// Fortified SRE seed), so every proxied request makes one full decision: shell analysis,
// content scan, policy, audit. Plain answers are timed to the last byte of the body, streamed
// ones to the last event. Targets: added ≤ 1 ms at the median, ≤ 5 ms at p99.
//
// Two configurations: `memory` (state in memory, no audit log: the proxy and the decision
// alone) and `durable` (SQLite in a data directory with the audit log synchronous=FULL, what
// `bastion serve` runs: every decision is on disk before the answer).
//
// Run as `node bench/proxy.bench.mjs <out.json>` after `npm run build`.
// Environment: BASTION_BENCH_PROXY_REQUESTS (per mode and side, default 1000).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBastionApp } from '../dist/app/index.js';
import { DEFAULT_CONFIG } from '../dist/config/index.js';

const root = new URL('..', import.meta.url).pathname;
const out = process.argv[2];
const REQUESTS = Number(process.env.BASTION_BENCH_PROXY_REQUESTS ?? 1000);
const WARMUP = Math.min(200, Math.ceil(REQUESTS / 5));

const ARGS = JSON.stringify({ cmd: 'ls -la' });
const PLAIN = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [
    { index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'sys:execute', arguments: ARGS } }] }, finish_reason: 'tool_calls' },
  ],
  usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
});
const env = { id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o' };
const chunk = (delta, finish = null) => `data: ${JSON.stringify({ ...env, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const STREAM = [
  chunk({ role: 'assistant', content: '' }),
  ...'Listing the directory now. '.split(/(?<= )/).map((w) => chunk({ content: w })),
  chunk({ tool_calls: [{ index: 0, id: 'call_s1', type: 'function', function: { name: 'sys:execute', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: ARGS.slice(0, 8) } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: ARGS.slice(8) } }] }),
  chunk({}, 'tool_calls'),
  `data: ${JSON.stringify({ ...env, choices: [], usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 } })}\n\n`,
  'data: [DONE]\n\n',
];

/** The fake provider: answers at once, the stream as separate writes. */
async function startUpstream() {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const part of STREAM) res.write(part);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(PLAIN);
      }
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}/v1` };
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

async function run(kind, upstream) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-bench-proxy-'));
  const config = {
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    dev: true,
    dataDir,
    policies: [join(root, 'examples/control-zero/sre-safety-policy.json')],
    upstream: upstream.url,
  };
  const built = await createBastionApp({ config, io: { stderr: { write: () => true }, env: { BASTION_UPSTREAM_API_KEY: 'sk-bench' } }, watch: false, memory: kind === 'memory' });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  const started = await built.value.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  try {
    const proxied = `${started.value.url}/v1`;
    return { plain: await measure(upstream.url, proxied, false), streamed: await measure(upstream.url, proxied, true) };
  } finally {
    await built.value.stop('bench');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const upstream = await startUpstream();
const results = { target: { addedMedianMs: 1, addedP99Ms: 5 }, memory: await run('memory', upstream), durable: await run('durable', upstream) };
upstream.server.close();
for (const kind of ['memory', 'durable']) {
  for (const mode of ['plain', 'streamed']) {
    const r = results[kind][mode];
    const met = r.addedMs.median <= 1 && r.addedMs.p99 <= 5 ? 'met' : 'NOT met';
    console.log(
      `proxy ${kind.padEnd(7)} ${mode.padEnd(8)}: direct ${r.directMs.median} ms (p99 ${r.directMs.p99}), proxied ${r.proxiedMs.median} ms (p99 ${r.proxiedMs.p99}), added ${r.addedMs.median} ms (p99 ${r.addedMs.p99}): target ${met}`,
    );
  }
}
if (out) writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
