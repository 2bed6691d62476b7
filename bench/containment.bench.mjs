// Containment when detection misses (issue 13): the scripted traces of
// test/fixtures/containment/traces.yaml decided with the example policy, with and without its
// flow rules. Prints attacks succeeded / total (an attack succeeds when its goal call is
// allowed without a human) and benign traces that ran without a human / total.
// Run: npm run build && node bench/containment.bench.mjs [out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { createGateway } from '../dist/gateway/index.js';
import { detectInjection } from '../dist/scan/index.js';

const file = new URL('../test/fixtures/containment/traces.yaml', import.meta.url).pathname;
const suite = parse(readFileSync(file, 'utf8'));
const policy = resolve(dirname(file), suite.policies[0]);
const noFlow = parse(readFileSync(policy, 'utf8'));
delete noFlow.flow;

async function runSuite(policies, label) {
  const gateway = await createGateway({ policies, approvals: { enabled: false } });
  const run = async (trace, calls) => {
    const traceId = `${label}:${trace.id}`;
    const principal = suite.principals[trace.principal];
    for (const r of trace.results) await gateway.inspectResult({ traceId, action: r.action, text: r.text });
    const out = [];
    for (const c of calls) out.push(await gateway.decide({ principal, traceId, action: c.action, args: c.args ?? {}, ...(c.environment ? { environment: c.environment } : {}) }));
    return out;
  };
  const attacks = { total: suite.attacks.length, succeeded: 0, detected: { total: 0, succeeded: 0 }, undetected: { total: 0, succeeded: 0 }, succeededIds: [] };
  for (const a of suite.attacks) {
    const [goal] = await run(a, [a.goal]);
    const ok = goal.decision === 'allow';
    const bucket = a.detected ? attacks.detected : attacks.undetected;
    bucket.total++;
    if (ok) {
      attacks.succeeded++;
      bucket.succeeded++;
      attacks.succeededIds.push(a.id);
    }
  }
  const benign = { total: suite.benign.length, withoutHuman: 0, heldIds: [] };
  for (const b of suite.benign) {
    const decisions = await run(b, b.calls);
    if (decisions.every((d) => d.decision === 'allow')) benign.withoutHuman++;
    else benign.heldIds.push(b.id);
  }
  await gateway.close();
  return { attacks, benign };
}

const scannerDetected = suite.attacks.filter((a) => a.results.some((r) => detectInjection(r.text).attack)).length;
const withFlow = await runSuite([policy], 'flow');
const withoutFlow = await runSuite([{ source: 'platform-agents (no flow rules)', document: noFlow }], 'open');
const line = (name, r) =>
  `${name.padEnd(22)} attacks succeeded ${r.attacks.succeeded}/${r.attacks.total} (detected ${r.attacks.detected.succeeded}/${r.attacks.detected.total}, undetected ${r.attacks.undetected.succeeded}/${r.attacks.undetected.total}); benign without a human ${r.benign.withoutHuman}/${r.benign.total}`;
console.log(`scanner detected ${scannerDetected}/${suite.attacks.length} injections`);
console.log(line('with flow rules', withFlow));
console.log(line('without flow rules', withoutFlow));
if (withFlow.benign.heldIds.length > 0) console.log(`benign traces held (with flow rules): ${withFlow.benign.heldIds.join(', ')}`);

const out = process.argv[2];
if (out) writeFileSync(out, JSON.stringify({ scannerDetected, attacksTotal: suite.attacks.length, benignTotal: suite.benign.length, withFlow, withoutFlow }, null, 2));
if (withFlow.attacks.succeeded > 0) process.exitCode = 1;
