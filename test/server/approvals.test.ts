/**
 * The approvals workflow end to end: the real server on a loopback port, driven with fetch,
 * callers identified by bearer tokens (test/helpers/identity.ts), state in a SQLite data
 * directory. The seeds' weaknesses must not exist here: an approved `restart web-1` replayed
 * as `restart db-1`, self-approval, quorum by one person, reuse, state lost on restart.
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBastionApp, type BastionApp } from '../../src/app/index.js';
import { DEFAULT_CONFIG, type BastionConfig } from '../../src/config/index.js';
import type { Principal } from '../../src/core/types.js';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { tokenIdentity } from '../helpers/identity.js';

const root = new URL('../..', import.meta.url).pathname;
const PEOPLE: Record<string, Principal> = {
  'tok-agent': { id: 'sre-agent', groups: ['sre'] },
  'tok-agent2': { id: 'sre-agent-2', groups: ['sre'] },
  'tok-lead': { id: 'lead-1', groups: ['sre-leads'] },
  'tok-lead2': { id: 'lead-2', groups: ['sre-leads'] },
  'tok-selflead': { id: 'sre-lead-agent', groups: ['sre', 'sre-leads'] },
  'tok-cm1': { id: 'cm-1', groups: ['change-managers'] },
  'tok-cm2': { id: 'cm-2', groups: ['change-managers'] },
  'tok-approver': { id: 'approver-1', groups: ['bastion-approvers'] },
};

const running: BastionApp[] = [];
afterAll(async () => {
  for (const app of running) await app.stop('test end');
});

function config(extra: Partial<BastionConfig> = {}): BastionConfig {
  return { ...DEFAULT_CONFIG, port: 0, dataDir: mkdtempSync(join(tmpdir(), 'bastion-approvals-')), policies: [join(root, 'examples/native')], dev: false, ...extra };
}

async function start(c: BastionConfig, env: Record<string, string> = {}, sweepMs?: number) {
  const stderr: string[] = [];
  const built = await createBastionApp({
    config: c,
    io: { stderr: { write: (t: string) => stderr.push(t) }, env },
    watch: false,
    identity: tokenIdentity(PEOPLE),
    ...(sweepMs !== undefined ? { approvalSweepMs: sweepMs } : {}),
  });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  const app = built.value;
  running.push(app);
  const started = await app.start();
  if (!started.ok) throw new Error(started.errors[0]?.message);
  const url = started.value.url as string;
  const call = async (token: string | undefined, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely; the assertions check them exactly
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };
  const decide = (token: string, request: Record<string, unknown>) => call(token, 'POST', '/v1/decide', request);
  return { app, url, call, decide, stderr };
}

const restart = (host: string, extra: Record<string, unknown> = {}) => ({
  principal: { id: 'ignored', groups: ['ignored'] },
  action: 'shell.execute',
  args: { command: `systemctl restart ${host}` },
  ...extra,
});
const deploy = (extra: Record<string, unknown> = {}) => ({
  principal: { id: 'x', groups: [] },
  action: 'deploy.service',
  environment: 'production',
  args: { service: 'web', version: '42' },
  ...extra,
});

async function events(dataDir: string, approvalId?: string) {
  const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
  if (!reader.ok) throw new Error(reader.errors[0]?.message);
  try {
    const all = await reader.value.query({});
    return all.filter((e) => approvalId === undefined || e.approvalId === approvalId);
  } finally {
    await reader.value.close();
  }
}

describe('approvals over HTTP', () => {
  it('an approved `restart web-1` is not an approval for `restart db-1`; the identical call is allowed once', async () => {
    const c = config();
    const s = await start(c);
    const first = await s.decide('tok-agent', restart('web-1'));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ decision: 'require_approval', reason: 'service restarts and package installs need an SRE lead' });
    const approval = first.body['approval'];
    expect(approval).toMatchObject({ status: 'pending', bound: true, approverGroups: ['sre-leads'], quorum: 1, approvals: 0, needs: [] });
    // Expires per the rule (1h), as an ISO time.
    expect(Date.parse(approval.expiresAt) - Date.now()).toBeGreaterThan(3590_000);
    const id = approval.id as string;

    // The requester is the verified principal, not the body's `ignored`.
    const shown = await s.call('tok-lead', 'GET', `/v1/approvals/${id}`);
    expect(shown.body).toMatchObject({ id, status: 'pending', requester: { id: 'sre-agent', groups: ['sre'] }, action: 'shell.execute', args: { command: 'systemctl restart web-1' } });

    const approved = await s.call('tok-lead', 'POST', `/v1/approvals/${id}/approve`, { comment: 'web-1 only' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ id, status: 'approved', approvals: 1, decisions: [{ approver: 'lead-1', verdict: 'approve', comment: 'web-1 only' }] });

    const replay = await s.decide('tok-agent', restart('db-1', { approvalId: id }));
    expect(replay.body['decision']).toBe('require_approval');
    expect(replay.body['reason']).toBe(`approval \`${id}\` was granted for a different call: arguments differ`);
    expect(replay.body['approval'].id).not.toBe(id);
    expect(replay.body['approval'].status).toBe('pending');

    const other = await s.decide('tok-agent2', restart('web-1', { approvalId: id }));
    expect([other.body['decision'], other.body['reason']]).toEqual(['require_approval', `approval \`${id}\` was granted for a different call: principal differs`]);

    const retry = await s.decide('tok-agent', restart('web-1', { approvalId: id }));
    expect(retry.body).toMatchObject({ decision: 'allow', reason: 'allowed by an approval bound to this call', approval: { id, status: 'consumed', bound: true } });
    expect(retry.body['matched']).toContainEqual({ policy: 'bastion/approvals', rule: 'approved', effect: 'allow' });

    const again = await s.decide('tok-agent', restart('web-1', { approvalId: id }));
    expect(again.body).toMatchObject({ decision: 'deny', approval: { id, status: 'consumed' } });
    expect(again.body['reason']).toMatch(new RegExp(`^approval \`${id}\` was already used at .+: an approval allows one call$`));

    const types = (await events(c.dataDir, id)).map((e) => e.type);
    // The replays' decisions belong to the fresh approvals they opened; the use is recorded before the allow.
    expect(types).toEqual(['approval.requested', 'decision', 'approval.approved', 'approval.consumed', 'decision', 'decision']);
    const requested = (await events(c.dataDir, id))[0];
    expect(requested?.principal).toEqual({ id: 'sre-agent', groups: ['sre'] });
  });

  it('the requester cannot approve their own call; a principal outside the approver groups cannot either; one deny ends it', async () => {
    const s = await start(config());
    const d = await s.decide('tok-selflead', restart('web-2'));
    const id = d.body['approval'].id as string;
    const self = await s.call('tok-selflead', 'POST', `/v1/approvals/${id}/approve`, { comment: 'mine' });
    expect(self).toEqual({ status: 403, body: { error: { code: 'FORBIDDEN', message: `approval \`${id}\`: \`sre-lead-agent\` requested it and cannot decide on it` } } });
    const stranger = await s.call('tok-agent', 'POST', `/v1/approvals/${id}/approve`, {});
    expect(stranger.status).toBe(403);
    expect(stranger.body['error'].message).toBe(`approval \`${id}\`: \`sre-agent\` is in none of the approver groups (\`sre-leads\`)`);
    expect((await s.call(undefined, 'POST', `/v1/approvals/${id}/approve`, {})).status).toBe(401);

    const denied = await s.call('tok-lead', 'POST', `/v1/approvals/${id}/deny`, { comment: 'not during the freeze' });
    expect(denied.body).toMatchObject({ status: 'denied', decisions: [{ approver: 'lead-1', verdict: 'deny', comment: 'not during the freeze' }] });
    const late = await s.call('tok-lead2', 'POST', `/v1/approvals/${id}/approve`, {});
    expect(late.status).toBe(409);
    expect(late.body['error'].code).toBe('APPROVAL_CONFLICT');
    const retry = await s.decide('tok-selflead', restart('web-2', { approvalId: id }));
    expect([retry.body['decision'], retry.body['reason']]).toEqual(['deny', `approval \`${id}\` was denied by \`lead-1\`: not during the freeze`]);
  });

  it('quorum 2 needs two distinct approvers, and the prerequisites (change ticket, rollback plan) before an approval is accepted', async () => {
    const s = await start(config());
    const d = await s.decide('tok-agent', deploy());
    expect(d.body['approval']).toMatchObject({ approverGroups: ['change-managers'], quorum: 2, needs: ['change_ticket', 'rollback_plan'] });
    const id = d.body['approval'].id as string;
    const bare = await s.call('tok-cm1', 'POST', `/v1/approvals/${id}/approve`, { comment: 'ok' });
    expect(bare).toEqual({
      status: 400,
      body: {
        error: {
          code: 'APPROVAL_INVALID',
          message: `approval \`${id}\` needs \`change_ticket\` before it can be approved: send it as \`evidence.change_ticket\` (or the call carries it as \`context.change_ticket\`); approval \`${id}\` needs \`rollback_plan\` before it can be approved: send it as \`evidence.rollback_plan\` (or the call carries it as \`context.rollback_plan\`)`,
          fields: ['evidence.change_ticket', 'evidence.rollback_plan'],
        },
      },
    });
    const one = await s.call('tok-cm1', 'POST', `/v1/approvals/${id}/approve`, { comment: 'ok', evidence: { change_ticket: 'CHG-1042', rollback_plan: 'helm rollback web 41' } });
    expect(one.body).toMatchObject({ status: 'pending', approvals: 1, quorum: 2 });
    const twice = await s.call('tok-cm1', 'POST', `/v1/approvals/${id}/approve`, { comment: 'again' });
    expect([twice.status, twice.body['error'].message]).toEqual([409, `approval \`${id}\`: \`cm-1\` has already decided on it`]);
    expect((await s.decide('tok-agent', deploy({ approvalId: id }))).body['reason']).toBe(`approval \`${id}\` is pending: 1 of 2 approvals, expires ${one.body['expiresAt']}`);
    const two = await s.call('tok-cm2', 'POST', `/v1/approvals/${id}/approve`, {});
    expect(two.body).toMatchObject({ status: 'approved', approvals: 2 });
    expect((await s.decide('tok-agent', deploy({ approvalId: id }))).body['decision']).toBe('allow');
    const bad = await s.call('tok-cm1', 'POST', `/v1/approvals/${id}/approve`, { comment: 1, extra: true });
    expect(bad.status).toBe(400);
    expect(bad.body['error'].fields).toEqual(['extra', 'comment']);
  });

  it('a retry while pending keeps the same approval; concurrent retries of an approved call consume it once', async () => {
    const s = await start(config());
    const d = await s.decide('tok-agent', restart('web-3'));
    const id = d.body['approval'].id as string;
    const pending = await s.decide('tok-agent', restart('web-3', { approvalId: id }));
    expect(pending.body['approval'].id).toBe(id);
    await s.call('tok-lead', 'POST', `/v1/approvals/${id}/approve`, {});
    const results = await Promise.all(Array.from({ length: 12 }, () => s.decide('tok-agent', restart('web-3', { approvalId: id }))));
    const allowed = results.filter((r) => r.body['decision'] === 'allow');
    expect(allowed).toHaveLength(1);
    for (const r of results.filter((x) => x.body['decision'] !== 'allow')) {
      expect(r.body['decision']).toBe('deny');
      expect(r.body['reason']).toMatch(new RegExp(`^approval \`${id}\` was (used by a concurrent call|already used at .+): an approval allows one call$`));
    }
  });

  it('the requester may cancel (nobody else), and a cancelled approval gets a fresh one on retry', async () => {
    const s = await start(config());
    const id = (await s.decide('tok-agent', restart('web-4'))).body['approval'].id as string;
    const notMine = await s.call('tok-lead', 'POST', `/v1/approvals/${id}/cancel`, {});
    expect([notMine.status, notMine.body['error'].message]).toEqual([403, `approval \`${id}\`: only its requester \`sre-agent\` may cancel it`]);
    const cancelled = await s.call('tok-agent', 'POST', `/v1/approvals/${id}/cancel`, { reason: 'wrong host' });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', cancelled: { by: 'sre-agent', reason: 'wrong host' } });
    const retry = await s.decide('tok-agent', restart('web-4', { approvalId: id }));
    expect(retry.body['reason']).toBe(`approval \`${id}\` was cancelled by \`sre-agent\`: a new approval is required`);
    expect(retry.body['approval'].id).not.toBe(id);
    const unknown = await s.decide('tok-agent', restart('web-4', { approvalId: 'no-such' }));
    expect([unknown.body['decision'], unknown.body['reason']]).toEqual(['require_approval', 'approval `no-such` does not exist']);
  });

  it('lists with filters and pages, long-polls until a human decides, and refuses bad queries', async () => {
    const s = await start(config());
    const ids: string[] = [];
    for (const host of ['a', 'b', 'c']) ids.push((await s.decide('tok-agent', restart(host))).body['approval'].id);
    await s.decide('tok-agent2', restart('d'));
    const page1 = await s.call('tok-lead', 'GET', '/v1/approvals?status=pending&requester=sre-agent&limit=2');
    expect(page1.body['approvals'].map((a: { id: string }) => a.id)).toEqual(ids.slice(0, 2));
    const page2 = await s.call('tok-lead', 'GET', `/v1/approvals?status=pending&requester=sre-agent&limit=2&cursor=${page1.body['nextCursor']}`);
    expect(page2.body).toEqual({ approvals: [expect.objectContaining({ id: ids[2] })] });
    expect((await s.call('tok-lead', 'GET', '/v1/approvals?status=maybe')).body['error']).toMatchObject({ code: 'APPROVAL_INVALID', fields: ['status'] });
    expect((await s.call('tok-lead', 'GET', '/v1/approvals?colour=red')).body['error']).toEqual({
      code: 'REQUEST_INVALID',
      message: 'unknown query parameter `colour` (expected status, requester, cursor, limit)',
      fields: ['colour'],
    });
    expect((await s.call('tok-lead', 'GET', `/v1/approvals/${ids[0]}?wait=61`)).status).toBe(400);
    expect((await s.call('tok-lead', 'GET', '/v1/approvals/nope')).status).toBe(404);
    expect((await s.call(undefined, 'GET', '/v1/approvals')).status).toBe(401);

    const t0 = Date.now();
    const waiting = s.call('tok-agent', 'GET', `/v1/approvals/${ids[0]}?wait=20`);
    await new Promise((r) => setTimeout(r, 300));
    await s.call('tok-lead', 'POST', `/v1/approvals/${ids[0]}/approve`, {});
    const answered = await waiting;
    expect(answered.body['status']).toBe('approved');
    expect(Date.now() - t0).toBeLessThan(5000);
    // Already decided: answered at once.
    expect((await s.call('tok-agent', 'GET', `/v1/approvals/${ids[0]}?wait=20`)).body['status']).toBe('approved');
    // Nothing happens: answered at the deadline, still pending.
    const t1 = Date.now();
    expect((await s.call('tok-agent', 'GET', `/v1/approvals/${ids[1]}?wait=1`)).body['status']).toBe('pending');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(900);
  });

  it('state survives a restart: approve, restart on the same data directory, the retry consumes', async () => {
    const c = config();
    const first = await start(c);
    const id = (await first.decide('tok-agent', restart('web-9'))).body['approval'].id as string;
    await first.call('tok-lead', 'POST', `/v1/approvals/${id}/approve`, { comment: 'go' });
    await first.app.stop('restart');
    const second = await start(c);
    expect((await second.call('tok-lead', 'GET', `/v1/approvals/${id}`)).body).toMatchObject({ status: 'approved' });
    expect((await second.decide('tok-agent', restart('web-9', { approvalId: id }))).body).toMatchObject({ decision: 'allow', approval: { status: 'consumed' } });
    await second.app.stop('end');
    const types = (await events(c.dataDir, id)).map((e) => e.type);
    expect(types.filter((t) => t.startsWith('approval.'))).toEqual(['approval.requested', 'approval.approved', 'approval.consumed']);
  });

  it('an expired approval never allows; the sweep writes and audits `expired` once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-approvals-policy-'));
    writeFileSync(
      join(dir, 'p.yaml'),
      'apiVersion: bastion/v1\nkind: Policy\nname: p\nrules:\n  - { id: hold-restarts, effect: require_approval, actions: [restart], reason: restarts need a human }\n',
    );
    const c = config({ policies: [dir], approvals: { defaultApproverGroups: ['bastion-approvers'], defaultExpirySeconds: 1 } });
    const s = await start(c, {}, 50);
    const call = { principal: { id: 'x', groups: [] }, action: 'restart', args: { host: 'web-1' } };
    const d = await s.decide('tok-agent', call);
    const id = d.body['approval'].id as string;
    expect(d.body['approval']).toMatchObject({ approverGroups: ['bastion-approvers'], quorum: 1 });
    await new Promise((r) => setTimeout(r, 1300));
    expect((await s.call('tok-approver', 'GET', `/v1/approvals/${id}`)).body['status']).toBe('expired');
    const late = await s.call('tok-approver', 'POST', `/v1/approvals/${id}/approve`, {});
    expect(late.status).toBe(409);
    const retry = await s.decide('tok-agent', { ...call, approvalId: id });
    expect(retry.body['decision']).toBe('require_approval');
    expect(retry.body['reason']).toMatch(new RegExp(`^approval \`${id}\` expired at .+: a new approval is required$`));
    await new Promise((r) => setTimeout(r, 200));
    const expired = (await events(c.dataDir, id)).filter((e) => e.type === 'approval.expired');
    expect(expired).toHaveLength(1);
  });
});

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

async function receiver(status: () => number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = status();
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, received };
}

function verify(secret: string, r: Received): boolean {
  const ts = String(r.headers['x-bastion-timestamp']);
  const sig = String(r.headers['x-bastion-signature']);
  const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex')}`;
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected)) && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
}

describe('approval notifications', () => {
  it('a webhook receives signed notifications of new and decided approvals; a Slack payload has text and blocks', async () => {
    const generic = await receiver(() => 200);
    const slack = await receiver(() => 200);
    try {
      const c = config({
        notifications: {
          webhooks: [
            { name: 'ops', url: generic.url, format: 'generic', secretEnv: 'HOOK_SECRET', events: ['requested', 'approved', 'denied', 'expired', 'cancelled'] },
            { name: 'slack', urlEnv: 'SLACK_URL', format: 'slack', events: ['requested'] },
          ],
          retry: { attempts: 3, initialDelayMs: 20, maxDelayMs: 100 },
          queueSize: 100,
          timeoutMs: 2000,
        },
      });
      const s = await start(c, { HOOK_SECRET: 's3cret', SLACK_URL: slack.url });
      const id = (await s.decide('tok-agent', restart('web-1'))).body['approval'].id as string;
      await s.call('tok-lead', 'POST', `/v1/approvals/${id}/approve`, { comment: 'fine' });
      await s.app.notifier?.idle(3000);
      expect(generic.received).toHaveLength(2);
      for (const r of generic.received) {
        expect(verify('s3cret', r)).toBe(true);
        expect(verify('wrong', r)).toBe(false);
      }
      const [requested, approved] = generic.received.map((r) => JSON.parse(r.body));
      expect(requested).toMatchObject({ type: 'approval.requested', approval: { id, status: 'pending', action: 'shell.execute', requester: { id: 'sre-agent' } } });
      expect(approved).toMatchObject({ type: 'approval.approved', by: 'lead-1', comment: 'fine', approval: { id, status: 'approved' } });
      expect(generic.received[0]?.headers['x-bastion-event']).toBe('approval.requested');
      // A body changed in transit fails verification.
      expect(verify('s3cret', { ...(generic.received[0] as Received), body: generic.received[0]?.body.replace('web-1', 'db-1') ?? '' })).toBe(false);
      expect(slack.received).toHaveLength(1);
      const payload = JSON.parse(slack.received[0]?.body ?? '{}');
      expect(payload.text).toBe(`Approval requested: sre-agent wants shell.execute (approval ${id}, pending)`);
      expect(payload.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*Approval requested*: `shell.execute {"command":"systemctl restart web-1"}`' } });
    } finally {
      generic.server.close();
      slack.server.close();
    }
  });

  it('a receiver that fails is retried with backoff, then `notification.failed` is audited; the decision was not held', async () => {
    const down = await receiver(() => 503);
    try {
      const c = config({
        notifications: {
          webhooks: [{ name: 'ops', url: down.url, format: 'generic', secretEnv: 'HOOK_SECRET', events: ['requested'] }],
          retry: { attempts: 3, initialDelayMs: 30, maxDelayMs: 100 },
          queueSize: 100,
          timeoutMs: 2000,
        },
      });
      const s = await start(c, { HOOK_SECRET: 'k' });
      const t0 = Date.now();
      const d = await s.decide('tok-agent', restart('web-1'));
      expect(Date.now() - t0).toBeLessThan(1000);
      const id = d.body['approval'].id as string;
      await s.app.notifier?.idle(3000);
      expect(down.received).toHaveLength(3);
      // The same delivery id on every attempt, so a receiver can drop duplicates.
      expect(new Set(down.received.map((r) => r.headers['x-bastion-delivery'])).size).toBe(1);
      const failed = (await events(c.dataDir, id)).filter((e) => e.type === 'notification.failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.data).toMatchObject({ webhook: 'ops', event: 'approval.requested', attempts: 3, error: 'the receiver answered 503' });
      expect(s.stderr.join('')).toContain(`bastion: notification requested of approval ${id} to webhook ops (http://127.0.0.1:`);
    } finally {
      down.server.close();
    }
  });

  it('a webhook whose secret is missing stops the start, naming the variable', async () => {
    const c = config({
      notifications: {
        webhooks: [{ name: 'ops', url: 'http://127.0.0.1:9/h', format: 'generic', secretEnv: 'NOPE', events: ['requested'] }],
        retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
        queueSize: 1,
        timeoutMs: 1,
      },
    });
    const built = await createBastionApp({ config: c, io: { stderr: { write: () => true }, env: {} }, watch: false });
    expect(built).toEqual({
      ok: false,
      errors: [{ code: 'CONFIG_INVALID', message: 'webhook `ops`: environment variable `NOPE` is not set (it holds the signing secret)', field: 'notifications.webhooks[0].secretEnv' }],
    });
  });
});
