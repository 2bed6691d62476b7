// Cedar side of the policy benchmark, run by bench/policy.bench.mjs in its own process
// (forked with --max-semi-space-size=64: cedar-wasm 4.13 can abort Node with a V8 fatal
// error when ~100k requests sit in one heap, so requests arrive in chunks over IPC).
//
// Protocol (process messages):
//   → {type: 'init', id, policies, sets?}     preparse the Cedar policy text under `id`, and
//                                              each text of `sets` ({id: text}) under its id
//   ← {type: 'ready', policies, parseMs}       or {type: 'error', message}
//   → {type: 'chunk', mode, calls}             mode 'stateful' (preparsed policy set, via
//                                              statefulIsAuthorized), 'stateless' (isAuthorized,
//                                              policy text parsed on every call) or 'warmup'
//   ← {type: 'result', decisions, ns, loopNs, failures}
//   → {type: 'exit'}
// `calls` are AuthorizationCall objects without `policies`; each call is timed on its own
// with process.hrtime.bigint, and the chunk's loop as a whole for the throughput figure.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

let policySetId = '';
let policyText = '';

function authorize(mode, call) {
  if (mode === 'stateless') return cedar.isAuthorized({ ...call, setId: undefined, policies: { staticPolicies: policyText } });
  // `setId` names one of the `sets` (Cedar's fast setup: one preparsed set per namespace).
  const { setId, ...rest } = call;
  return cedar.statefulIsAuthorized({ ...rest, preparsedPolicySetId: setId ?? policySetId });
}

function runChunk(mode, calls) {
  const decisions = new Array(calls.length);
  const ns = new Array(calls.length);
  let failures = 0;
  let firstFailure;
  const loopStart = process.hrtime.bigint();
  for (let i = 0; i < calls.length; i++) {
    const t0 = process.hrtime.bigint();
    const answer = authorize(mode, calls[i]);
    const t1 = process.hrtime.bigint();
    ns[i] = Number(t1 - t0);
    if (answer.type === 'success') decisions[i] = answer.response.decision;
    else {
      decisions[i] = 'error';
      failures++;
      firstFailure ??= answer.errors.map((e) => e.message).join('; ');
    }
  }
  const loopNs = Number(process.hrtime.bigint() - loopStart);
  return { type: 'result', decisions, ns, loopNs, failures, firstFailure };
}

process.on('message', (msg) => {
  try {
    if (msg.type === 'init') {
      policySetId = msg.id;
      policyText = msg.policies;
      const t0 = process.hrtime.bigint();
      const parsed = cedar.preparsePolicySet(policySetId, { staticPolicies: policyText });
      const parseMs = Number(process.hrtime.bigint() - t0) / 1e6;
      if (parsed.type !== 'success') {
        process.send({ type: 'error', message: `cedar rejected the policy set: ${parsed.errors.map((e) => e.message).join('; ')}` });
        return;
      }
      for (const [id, text] of Object.entries(msg.sets ?? {})) {
        const one = cedar.preparsePolicySet(id, { staticPolicies: text });
        if (one.type !== 'success') {
          process.send({ type: 'error', message: `cedar rejected policy set ${id}: ${one.errors.map((e) => e.message).join('; ')}` });
          return;
        }
      }
      process.send({ type: 'ready', version: cedar.getCedarVersion(), parseMs });
    } else if (msg.type === 'chunk') {
      process.send(runChunk(msg.mode, msg.calls));
    } else if (msg.type === 'exit') {
      process.disconnect();
    }
  } catch (err) {
    process.send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
});
