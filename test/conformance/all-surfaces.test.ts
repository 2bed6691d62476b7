/**
 * Conformance across every surface: each case of `test/fixtures/conformance/requests.yaml` (one
 * tool call written once) is decided through
 *
 *   library        createGateway(...).decide(request)
 *   check          `bastion check --json` (the CLI, in-process)
 *   decide         POST /v1/decide on a real started app (127.0.0.1, port 0)
 *   openai         the OpenAI-compatible proxy (official `openai` client, Chat Completions)
 *   anthropic      the Messages proxy (official `@anthropic-ai/sdk` client)
 *   mcp            `bastion mcp` (spawned) in front of a fixture MCP server, official MCP SDK client
 *   claudeCode     `bastion hook claude-code` (in-process) with PreToolUse JSON on stdin
 *
 * and every answer must carry the fixture's decision, reason and matched rules (the proxies'
 * and MCP's refusals carry the decision; their allows, and the hook's answers, are completed
 * from the audit events of the call's trace). The hook's `permissionDecisionReason` must be
 * exactly what it derives from that decision.
 *
 * State is shared the way replicas share it: one data directory (SQLite) holds the kill switch,
 * approvals and audit of the library's gateway, the app, the MCP proxies and the hook runs.
 * A case's kill switch is set once with `PUT /v1/kill-switch` (and `bastion check
 * --kill-switch`, which has no state), then cleared. An approval case is held, approved over
 * `POST /v1/approvals/<id>/approve` by `approval.by`, and retried naming the approval on each
 * surface (request `approvalId`, `X-Bastion-Approval-Id`, MCP `_meta`). `bastion check` keeps no
 * approvals, so it only decides the first call. The hook cannot name an approval (Claude Code
 * re-sends the bare tool call): it waits for the approval (`--on-approval wait`), and when the
 * approval is refused its retry is a fresh hold.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG, DEFAULT_PROXY, type BastionConfig } from '../../src/config/index.js';
import type { Decision } from '../../src/core/types.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { runBastion } from '../helpers/cli.js';
import { chatToolCall, messageToolUse, startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';

const root = new URL('../..', import.meta.url).pathname;
const FIXTURES = join(root, 'test/fixtures/conformance');
const CLI = join(root, 'dist/cli/main.js');

type Effect = 'allow' | 'deny' | 'require_approval';
interface Expected {
  decision: Effect;
  reason: string;
  matched: string[];
}
interface Case {
  id: string;
  description: string;
  principal: string;
  action: string;
  args: Record<string, unknown>;
  killSwitch?: Record<string, unknown>;
  approval?: { by: 'approver' | 'self'; then: Expected };
  expect: Expected;
  known?: Partial<Record<Surface, string>>;
}
interface Fixture {
  policy: string;
  principals: Record<string, { id: string; groups: string[] }>;
  claudeCode: { tools: Record<string, string> };
  cases: Case[];
}

const SURFACES = ['library', 'check', 'decide', 'openai', 'anthropic', 'mcp', 'claudeCode'] as const;
type Surface = (typeof SURFACES)[number];

const fixture = parse(readFileSync(join(FIXTURES, 'requests.yaml'), 'utf8')) as Fixture;
const POLICY = join(FIXTURES, fixture.policy);
const MCP_SERVER = join(FIXTURES, 'mcp-server.mjs');

/** What is compared on every surface. */
interface Seen {
  decision: string | undefined;
  reason: string | undefined;
  matched: string[];
}
const rulesOf = (matched: readonly { policy: string; rule: string; effect: string }[] | undefined): string[] => (matched ?? []).map((m) => `${m.policy}/${m.rule}:${m.effect}`);
const seen = (d: Pick<Decision, 'decision' | 'reason' | 'matched'> | undefined): Seen => ({ decision: d?.decision, reason: d?.reason, matched: rulesOf(d?.matched) });

/** The approval's id and expiry in place of the fixture's `<approval>` and `<expires>`. */
function expected(e: Expected, approval?: { id: string; expiresAt: string }): Seen {
  const reason = approval ? e.reason.replace('<approval>', approval.id).replace('<expires>', approval.expiresAt) : e.reason;
  return { decision: e.decision, reason, matched: e.matched };
}

const principalOf = (c: Case) => {
  const p = fixture.principals[c.principal];
  if (p === undefined) throw new Error(`case ${c.id}: unknown principal ${c.principal}`);
  return p;
};
const devHeaders = (p: { id: string; groups: string[] }): Record<string, string> => ({ 'X-ControlZero-User-ID': p.id, 'X-ControlZero-User-Group': p.groups.join(',') });
const ADMIN = { 'X-ControlZero-User-ID': 'conformance-admin', 'X-ControlZero-User-Group': 'bastion-admins' };
const NO_KILL_SWITCH = { all_write_tools_disabled: false, read_only_mode: false, disabled_connectors: [], disabled_users: [], disabled_workflows: [] };

let dataDir: string;
let gateway: Gateway;
let upstream: FakeUpstream;
let app: BastionApp;
let url: string;
let openai: OpenAI;
let anthropic: Anthropic;
const mcpClients = new Map<string, Client>();
const passed: Record<Surface, number> = { library: 0, check: 0, decide: 0, openai: 0, anthropic: 0, mcp: 0, claudeCode: 0 };
let traceSeq = 0;

async function startMcp(p: { id: string; groups: string[] }): Promise<Client> {
  const args = [CLI, 'mcp', '--policy', POLICY, '--principal', p.id, '--groups', p.groups.join(','), '--data-dir', dataDir, '--', process.execPath, MCP_SERVER];
  const transport = new StdioClientTransport({ command: process.execPath, args, stderr: 'pipe', cwd: root });
  const client = new Client({ name: 'bastion-conformance', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  return client;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'bastion-all-surfaces-'));
  upstream = await startFakeUpstream();
  const config: BastionConfig = { ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, dev: true, dataDir, policies: [POLICY], proxy: { ...DEFAULT_PROXY }, upstream: upstream.url };
  const built = await createBastionApp({ config, io: { stderr: { write: () => true }, env: { BASTION_UPSTREAM_API_KEY: 'sk-upstream-conformance' } }, watch: false });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  app = built.value;
  const started = await app.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  url = started.value.url as string;
  gateway = await createGateway({ policies: [POLICY], dataDir, surface: 'library' });
  openai = new OpenAI({ apiKey: 'bastion-agent-token', baseURL: `${url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: null, authToken: 'bastion-agent-token', baseURL: url, maxRetries: 0 });
  const used = [...new Set(fixture.cases.map((c) => c.principal))];
  const clients = await Promise.all(used.map((name) => startMcp(fixture.principals[name] as { id: string; groups: string[] })));
  used.forEach((name, i) => mcpClients.set(name, clients[i] as Client));
}, 60_000);

afterAll(async () => {
  for (const c of mcpClients.values()) await c.close().catch(() => undefined);
  await gateway?.close();
  await app?.stop('test');
  await upstream?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  console.log(`all-surfaces conformance: ${fixture.cases.length} cases; passed per surface: ${JSON.stringify(passed)}`);
});

async function http(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function setKillSwitch(state: Record<string, unknown>): Promise<void> {
  const put = await http('PUT', '/v1/kill-switch', ADMIN, state);
  expect(put.status, JSON.stringify(put.body)).toBe(200);
}

/** The last decision event of a trace in the shared audit log (`bastion audit query --trace`). */
async function audited(traceId: string): Promise<Seen> {
  const run = await runBastion(['audit', 'query', '--data-dir', dataDir, '--trace', traceId, '--type', 'decision', '--limit', '0', '--json'], { cwd: dataDir });
  expect(run.code, run.stderr).toBe(0);
  const events = JSON.parse(run.stdout) as { decision?: Effect; reason?: string; matched?: Decision['matched'] }[];
  const last = events[events.length - 1];
  return { decision: last?.decision, reason: last?.reason, matched: rulesOf(last?.matched) };
}

const nextTrace = (c: Case, surface: string) => `conf-${c.id}-${surface}-${++traceSeq}`;

/** Each surface's answer to the case's call; `approvalId` names an approval on a retry. */
type Ask = (c: Case, approvalId?: string) => Promise<{ seen: Seen; approval?: { id: string; expiresAt: string } }>;
const approvalOf = (d: Pick<Decision, 'approval'> | undefined) => (d?.approval ? { id: d.approval.id, expiresAt: d.approval.expiresAt ?? '' } : undefined);
const withApproval = <T extends object>(v: T, a: { id: string; expiresAt: string } | undefined) => (a ? { ...v, approval: a } : v);

const ASK: Record<Exclude<Surface, 'claudeCode'>, Ask> = {
  async library(c, approvalId) {
    const d = await gateway.decide({ principal: principalOf(c), action: c.action, args: c.args, ...(approvalId ? { approvalId } : {}) });
    return withApproval({ seen: seen(d) }, approvalOf(d));
  },
  async check(c) {
    const argv = ['check', '--policy', POLICY, '--input', '-', '--json'];
    if (c.killSwitch) argv.push('--kill-switch', JSON.stringify(c.killSwitch));
    const run = await runBastion(argv, { cwd: root, stdin: JSON.stringify({ principal: principalOf(c), action: c.action, args: c.args }) });
    expect(run.code, run.stderr).toBe(0);
    return { seen: seen(JSON.parse(run.stdout) as Decision) };
  },
  async decide(c, approvalId) {
    const r = await http('POST', '/v1/decide', {}, { principal: principalOf(c), action: c.action, args: c.args, ...(approvalId ? { approvalId } : {}) });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return withApproval({ seen: seen(r.body as unknown as Decision) }, approvalOf(r.body as unknown as Decision));
  },
  async openai(c, approvalId) {
    const traceId = nextTrace(c, 'openai');
    upstream.queue({ json: chatToolCall(c.action, JSON.stringify(c.args)) });
    const headers = { ...devHeaders(principalOf(c)), 'x-bastion-trace-id': traceId, ...(approvalId ? { 'x-bastion-approval-id': approvalId } : {}) };
    try {
      const answer = await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'go' }] }, { headers });
      const call = answer.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' ? call.function.name : undefined).toBe(c.action);
      return { seen: await audited(traceId) };
    } catch (err) {
      if (!(err instanceof OpenAI.APIError)) throw err;
      expect(err.status, String(err.message)).toBe(403);
      const body = err.error as { decision?: Decision; error?: { decision?: Decision } } | undefined;
      const d = body?.decision ?? body?.error?.decision;
      return withApproval({ seen: seen(d) }, approvalOf(d));
    }
  },
  async anthropic(c, approvalId) {
    const traceId = nextTrace(c, 'anthropic');
    upstream.queue({ json: messageToolUse(c.action, c.args) });
    const headers = { ...devHeaders(principalOf(c)), 'x-bastion-trace-id': traceId, ...(approvalId ? { 'x-bastion-approval-id': approvalId } : {}) };
    try {
      const answer = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'go' }] }, { headers });
      const use = answer.content.find((b) => b.type === 'tool_use');
      expect(use?.type === 'tool_use' ? use.name : undefined).toBe(c.action);
      return { seen: await audited(traceId) };
    } catch (err) {
      if (!(err instanceof Anthropic.APIError)) throw err;
      expect(err.status, String(err.message)).toBe(403);
      const body = err.error as { decision?: Decision; error?: { decision?: Decision } } | undefined;
      const d = body?.decision ?? body?.error?.decision;
      return withApproval({ seen: seen(d) }, approvalOf(d));
    }
  },
  async mcp(c, approvalId) {
    const client = mcpClients.get(c.principal) as Client;
    const result = (await client.callTool({ name: c.action, arguments: c.args, ...(approvalId ? { _meta: { 'bastion/approvalId': approvalId } } : {}) })) as CallToolResult;
    const d = result._meta?.['bastion/decision'] as Decision | undefined;
    const s = seen(d);
    // A refusal is an error result; an allowed call reached the server, which echoes it.
    const first = result.content?.[0];
    const text = first?.type === 'text' ? first.text : '';
    expect(result.isError === true, text).toBe(s.decision !== 'allow');
    if (s.decision === 'allow') expect(text).toBe(`called ${c.action} ${JSON.stringify(c.args)}`);
    return withApproval({ seen: s }, approvalOf(d));
  },
};

/** `bastion hook claude-code` on the case, as Claude Code runs it; its answer must be the one the decision implies. */
async function askHook(c: Case, options: { wait?: boolean; onPending?: () => Promise<void> } = {}): Promise<Seen> {
  const p = principalOf(c);
  const tool = fixture.claudeCode.tools[c.action] ?? c.action;
  const session = nextTrace(c, 'hook');
  const input = {
    session_id: session,
    transcript_path: '/home/dev/.claude/projects/project/session.jsonl',
    cwd: '/home/dev/project',
    permission_mode: 'default',
    hook_event_name: 'PreToolUse',
    tool_name: tool,
    tool_input: c.args,
    tool_use_id: 'toolu_conformance',
  };
  const argv = [
    'hook',
    'claude-code',
    '--policy',
    POLICY,
    '--principal',
    p.id,
    '--groups',
    p.groups.join(','),
    '--data-dir',
    dataDir,
    ...(options.wait ? ['--on-approval', 'wait', '--wait', '20'] : []),
  ];
  const running = runBastion(argv, { cwd: root, stdin: JSON.stringify(input), env: { HOME: '/home/dev' } });
  if (options.onPending) await options.onPending();
  const run = await running;
  expect(run.code, run.stderr).toBe(0);
  const out = JSON.parse(run.stdout) as { hookSpecificOutput: { hookEventName: string; permissionDecision: string; permissionDecisionReason: string } };
  const s = await audited(session);
  const answer = out.hookSpecificOutput;
  expect(answer.hookEventName).toBe('PreToolUse');
  // The answer Claude Code reads, derived from the audited decision.
  const effectRules = s.matched.filter((m) => m.endsWith(`:${s.decision}`)).map((m) => m.slice(0, m.lastIndexOf(':')));
  const rules = effectRules.length > 0 ? ` [${effectRules.join(', ')}]` : '';
  const permission = s.decision === 'allow' ? 'allow' : s.decision === 'deny' ? 'deny' : 'ask';
  expect(answer.permissionDecision, answer.permissionDecisionReason).toBe(permission);
  if (s.decision === 'allow') expect(answer.permissionDecisionReason).toBe(`Bastion: ${s.reason}${rules}`);
  else if (s.decision === 'deny') expect(answer.permissionDecisionReason).toBe(`Bastion denied this call: ${s.reason}${rules}`);
  else expect(answer.permissionDecisionReason).toMatch(new RegExp(`^Bastion: ${escapeRegExp(`${s.reason}${rules}`)} \\(Bastion approval [0-9a-f-]{36}\\)$`));
  return s;
}
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function approve(c: Case, id: string): Promise<void> {
  const by = c.approval?.by === 'self' ? principalOf(c) : (fixture.principals['approver'] as { id: string; groups: string[] });
  const r = await http('POST', `/v1/approvals/${id}/approve`, devHeaders(by), { comment: 'conformance' });
  if (c.approval?.by === 'self') expect(r.status, JSON.stringify(r.body)).toBe(403);
  else expect(r.status, JSON.stringify(r.body)).toBe(200);
}

describe('the all-surfaces corpus', () => {
  it('holds at least 40 cases covering the seeds, evasions, secrets, paths, URLs, approvals and the kill switch', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(fixture.cases.map((c) => c.id)).size).toBe(fixture.cases.length);
    for (const prefix of ['seed-', 'evasion-', 'secret-', 'path-', 'url-', 'approval-', 'kill-'])
      expect(
        fixture.cases.some((c) => c.id.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });
});

describe.each(fixture.cases.map((c) => [`${c.id}: ${c.description}`, c] as const))('%s', (_name, c) => {
  beforeAll(async () => {
    if (c.killSwitch) await setKillSwitch(c.killSwitch);
  });
  afterAll(async () => {
    if (c.killSwitch) await setKillSwitch(NO_KILL_SWITCH);
  });

  for (const surface of SURFACES) {
    const known = c.known?.[surface];
    it.skipIf(known !== undefined)(`${surface}${known ? ` (known: ${known})` : ''}`, async () => {
      const want = expected(c.expect);
      if (surface === 'claudeCode') {
        if (c.approval?.by === 'approver') {
          // Waits for the approval, which an SRE lead approves while it waits.
          const got = await askHook(c, {
            wait: true,
            onPending: async () => {
              const requester = principalOf(c).id;
              for (let i = 0; i < 200; i++) {
                const list = await gateway.approvals.list({ status: 'pending', requester });
                const found = list.ok
                  ? list.value.approvals.find((a) => a.action === (fixture.claudeCode.tools[c.action] ?? c.action) && JSON.stringify(a.args) === JSON.stringify(c.args))
                  : undefined;
                if (found) {
                  expect(found.reason).toBe(want.reason);
                  await approve(c, found.id);
                  return;
                }
                await new Promise((r) => setTimeout(r, 50));
              }
              throw new Error('the hook opened no approval');
            },
          });
          expect(got, `${surface}: ${c.id} (after approval)`).toEqual(expected(c.approval.then));
        } else {
          expect(await askHook(c), `${surface}: ${c.id}`).toEqual(want);
          if (c.approval?.by === 'self') {
            const list = await gateway.approvals.list({ status: 'pending', requester: principalOf(c).id });
            const found = list.ok ? list.value.approvals.find((a) => a.action === (fixture.claudeCode.tools[c.action] ?? c.action) && JSON.stringify(a.args) === JSON.stringify(c.args)) : undefined;
            expect(found, 'the hook opened an approval').toBeDefined();
            await approve(c, (found as { id: string }).id);
            // The hook cannot name the approval: the same call again is a fresh hold.
            expect(await askHook(c), `${surface}: ${c.id} (retry)`).toEqual(want);
          }
        }
        passed[surface]++;
        return;
      }
      const first = await ASK[surface](c);
      expect(first.seen, `${surface}: ${c.id}`).toEqual(want);
      if (c.approval && surface !== 'check') {
        expect(first.approval, `${surface}: an approval was opened`).toBeDefined();
        const approval = first.approval as { id: string; expiresAt: string };
        await approve(c, approval.id);
        const retry = await ASK[surface](c, approval.id);
        expect(retry.seen, `${surface}: ${c.id} (retry)`).toEqual(expected(c.approval.then, approval));
      }
      passed[surface]++;
    });
  }
});

describe('the all-surfaces run', () => {
  it('decided every case on every surface not marked known', () => {
    for (const surface of SURFACES) expect(passed[surface], surface).toBe(fixture.cases.filter((c) => c.known?.[surface] === undefined).length);
  });
});
