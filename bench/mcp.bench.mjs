#!/usr/bin/env node
// The added latency of an MCP `tools/call` through `bastion mcp` against calling the same
// server directly, in the same run: the official SDK client on the fixture MCP server
// (test/fixtures/mcp/server.mjs) over stdio, directly and through `bastion mcp -- …`, in
// alternating rounds so drift hits both alike. Added latency = proxied - direct, at the median
// and p99 (target ≤ 1 ms / ≤ 5 ms). Two proxies: the default durable audit log (each decision
// answered once its event is on disk) and `audit: { durable: false }`.
// Usage: node bench/mcp.bench.mjs OUT.json [--calls N]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = new URL('..', import.meta.url).pathname;
const out = process.argv[2];
const callsAt = process.argv.indexOf('--calls');
const CALLS = callsAt > 0 ? Number(process.argv[callsAt + 1]) : 2000;
const ROUNDS = 10;
const WARMUP = 200;
const SERVER = join(root, 'test/fixtures/mcp/server.mjs');
const POLICY = join(root, 'test/fixtures/mcp/policy.yaml');
const CLI = join(root, 'dist/cli/main.js');

async function client(args) {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StdioClientTransport({ command: process.execPath, args, stderr: 'ignore' }));
  return c;
}

function proxyArgs(extra) {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-mcp-bench-'));
  return [CLI, 'mcp', '--policy', POLICY, '--principal', 'bench', '--groups', 'agents', '--data-dir', dir, ...extra(dir), '--', process.execPath, SERVER];
}

const call = { name: 'shell.execute', arguments: { command: 'ls -la /var/log' } };
async function time(c, n, into) {
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = await c.callTool(call);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.isError) throw new Error(`the call was refused: ${JSON.stringify(r.content)}`);
    into?.push(ms);
  }
}
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const round3 = (x) => Math.round(x * 1000) / 1000;

const direct = await client([SERVER]);
const durable = await client(proxyArgs(() => []));
const fast = await client(
  proxyArgs((dir) => {
    const config = join(dir, 'bastion.yaml');
    writeFileSync(config, `policies: [${JSON.stringify(POLICY)}]\ndataDir: ${JSON.stringify(dir)}\naudit: { durable: false }\n`);
    return ['--config', config];
  }),
);
for (const c of [durable, fast]) await c.listTools();
const samples = { direct: [], durable: [], fast: [] };
const clients = { direct, durable, fast };
for (const c of Object.values(clients)) await time(c, WARMUP);
for (let r = 0; r < ROUNDS; r++) for (const [name, c] of Object.entries(clients)) await time(c, Math.ceil(CALLS / ROUNDS), samples[name]);
for (const c of Object.values(clients)) await c.close();

// The floor, in the same run: what the gateway itself costs per call in-process (one decide and
// one result inspection, each audited), durable and not: the proxy cannot add less than this.
const { createGateway } = await import(join(root, 'dist/gateway/index.js'));
const floor = {};
for (const durableAudit of [true, false]) {
  const g = await createGateway({ policies: [POLICY], dataDir: mkdtempSync(join(tmpdir(), 'bastion-mcp-bench-')), durable: durableAudit });
  const principal = { id: 'bench', groups: ['agents'] };
  const xs = [];
  for (let i = 0; i < WARMUP + CALLS; i++) {
    const t = process.hrtime.bigint();
    await g.decide({ principal, action: call.name, args: call.arguments, context: { mcp: { server: 'server' } }, traceId: 'bench' });
    await g.inspectResult({ traceId: 'bench', action: call.name, text: `ran: ${call.arguments.command}`, source: 'mcp:server/shell.execute' });
    if (i >= WARMUP) xs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await g.close();
  floor[durableAudit ? 'durable' : 'nonDurable'] = { median: round3(quantile(xs, 0.5)), p99: round3(quantile(xs, 0.99)) };
}

const stats = (xs) => ({ median: round3(quantile(xs, 0.5)), p99: round3(quantile(xs, 0.99)) });
const d = stats(samples.direct);
const result = { calls: CALLS, direct: d };
for (const name of ['durable', 'fast']) {
  const s = stats(samples[name]);
  result[name === 'durable' ? 'proxiedDurable' : 'proxiedNonDurable'] = { ...s, addedMedian: round3(s.median - d.median), addedP99: round3(s.p99 - d.p99) };
}
result.gatewayInProcess = floor;
result.targets = { addedMedianMs: 1, addedP99Ms: 5 };
result.met = {
  durable: result.proxiedDurable.addedMedian <= 1 && result.proxiedDurable.addedP99 <= 5,
  nonDurable: result.proxiedNonDurable.addedMedian <= 1 && result.proxiedNonDurable.addedP99 <= 5,
};
console.log(`MCP tools/call, ${CALLS} calls each (ms): direct median ${d.median} p99 ${d.p99}`);
console.log(
  `  through bastion mcp, durable audit:     median ${result.proxiedDurable.median} p99 ${result.proxiedDurable.p99} → added ${result.proxiedDurable.addedMedian} / ${result.proxiedDurable.addedP99}`,
);
console.log(
  `  through bastion mcp, non-durable audit: median ${result.proxiedNonDurable.median} p99 ${result.proxiedNonDurable.p99} → added ${result.proxiedNonDurable.addedMedian} / ${result.proxiedNonDurable.addedP99}`,
);
console.log(
  `  the gateway alone in-process (decide + inspect, audited): durable median ${floor.durable.median} p99 ${floor.durable.p99}; non-durable median ${floor.nonDurable.median} p99 ${floor.nonDurable.p99}`,
);
if (out) writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
