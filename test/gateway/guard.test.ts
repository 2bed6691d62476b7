/**
 * guard() must run the tool on exactly what was decided and recorded (review finding 8, a
 * TOCTOU gap): the caller's object may change after the call, on the next tick, or from a
 * getter, and none of that may reach the tool. And createGateway's option errors are
 * BastionExceptions (finding 26), not TypeErrors.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionEvent, ActionRuntime } from '../../src/gateway/action-runtime.js';
import { ActionDeniedError, ActionTimeoutError, createGateway, type Gateway, type GatewayOptions } from '../../src/gateway/index.js';
import { BastionException } from '../../src/core/errors.js';

const root = new URL('../..', import.meta.url).pathname;
const capfence = join(root, 'examples/capfence');
const principal = { id: 'ops-agent', groups: [] as string[] };

describe('guard() runs the tool on the decided, frozen copy', () => {
  let gateway: Gateway;
  let ran: unknown[];
  let shell: (args: Record<string, unknown>) => Promise<unknown>;
  beforeAll(async () => {
    gateway = await createGateway({ policies: [capfence], dataDir: mkdtempSync(join(tmpdir(), 'bastion-guard-')) });
    shell = gateway.guard(
      'shell.execute',
      (args: Record<string, unknown>) => {
        ran.push(args);
        return args['command'];
      },
      { principal },
    );
  });
  afterAll(async () => gateway.close());

  /** What the audit log says was decided for the last decision event. */
  const lastAudited = async () => {
    const events = (await gateway.auditLog?.query({}))?.filter((e) => e.type === 'decision') ?? [];
    const last = events[events.length - 1];
    return { decision: last?.decision, command: (last?.args as { command?: unknown } | undefined)?.command };
  };

  it('ignores a mutation made right after the call (the review: the tool ran `rm -rf /`)', async () => {
    ran = [];
    const args = { command: 'df -h' };
    const p = shell(args);
    args.command = 'rm -rf /';
    await expect(p).resolves.toBe('df -h');
    expect(ran).toEqual([{ command: 'df -h' }]);
    expect(await lastAudited()).toEqual({ decision: 'allow', command: 'df -h' });
  });

  it('ignores a mutation made on the next turn of the event loop', async () => {
    ran = [];
    const args = { command: 'df -h', options: { dir: '/tmp' } };
    const p = shell(args);
    setImmediate(() => {
      args.command = 'rm -rf /';
      args.options.dir = '/';
    });
    await expect(p).resolves.toBe('df -h');
    expect(ran).toEqual([{ command: 'df -h', options: { dir: '/tmp' } }]);
    expect(await lastAudited()).toEqual({ decision: 'allow', command: 'df -h' });
  });

  it('refuses a getter instead of reading it (the review: decided `df -h`, ran `rm -rf /`)', async () => {
    ran = [];
    let reads = 0;
    const args = {
      get command() {
        return ++reads <= 3 ? 'df -h' : 'rm -rf /';
      },
    };
    const denied = await shell(args).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ActionDeniedError);
    expect((denied as ActionDeniedError).decision).toMatchObject({ decision: 'deny', reason: 'request is invalid' });
    expect((denied as ActionDeniedError).decision.errors[0]).toMatchObject({ policy: 'bastion/request', rule: 'validate', code: 'REQUEST_INVALID', field: 'args.command' });
    expect((denied as ActionDeniedError).decision.errors[0]?.message).toContain('field `args.command`: is a getter or setter, not plain data');
    expect(reads).toBe(0);
    expect(ran).toEqual([]);
    expect((await lastAudited()).decision).toBe('deny');
  });

  it('decides and runs one reading of a proxy, whatever its get trap says later', async () => {
    ran = [];
    let reads = 0;
    const args = new Proxy({ command: 'df -h' } as Record<string, unknown>, {
      get: (target, key) => (++reads > 0 && key === 'command' ? 'rm -rf /' : target[key as string]),
    });
    await expect(shell(args)).resolves.toBe('df -h');
    expect(ran).toEqual([{ command: 'df -h' }]);
    expect(reads).toBe(0);
    expect(await lastAudited()).toEqual({ decision: 'allow', command: 'df -h' });
  });

  it('hands the tool a deep-frozen copy, not the caller object', async () => {
    ran = [];
    const args = { command: 'df -h', env: { LANG: 'C' }, paths: ['/tmp'] };
    await shell(args);
    const got = ran[0] as typeof args;
    expect(got).toEqual(args);
    expect(got).not.toBe(args);
    expect(Object.isFrozen(got) && Object.isFrozen(got.env) && Object.isFrozen(got.paths)).toBe(true);
    expect(() => {
      got.command = 'rm -rf /';
    }).toThrow(TypeError);
  });

  it.each([
    [
      'a class instance',
      new (class Command {
        command = 'df -h';
      })(),
      'field `args`: a Command object is not plain JSON data',
    ],
    ['a function', { command: 'df -h', onDone: () => undefined }, 'field `args.onDone`: function is not JSON data'],
    ['a symbol key', { command: 'df -h', [Symbol('x')]: 1 }, 'field `args`: has a symbol key `Symbol(x)`'],
    ['a bigint', { command: 'df -h', n: 1n }, 'field `args.n`: bigint is not JSON data'],
    [
      'a cycle',
      (() => {
        const a: Record<string, unknown> = { command: 'df -h' };
        a['self'] = a;
        return a;
      })(),
      'nests objects or arrays more than 64 levels deep',
    ],
  ])('denies %s in the arguments without running the tool', async (_what, args, message) => {
    ran = [];
    const denied = await shell(args as Record<string, unknown>).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ActionDeniedError);
    expect((denied as ActionDeniedError).decision.errors[0]?.code).toBe('REQUEST_INVALID');
    expect((denied as ActionDeniedError).decision.errors[0]?.message).toContain(message);
    expect(ran).toEqual([]);
  });

  it('denies, never rejects, when reading the request throws (a proxy trap)', async () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('trap');
        },
      },
    );
    const d = await gateway.decide({ principal, action: 'shell.execute', args: hostile });
    expect(d).toMatchObject({
      decision: 'deny',
      reason: 'request is invalid',
      errors: [{ policy: 'bastion/request', rule: 'validate', code: 'REQUEST_INVALID', message: 'request: cannot be read: trap' }],
    });
    const top = await gateway.decide(
      new Proxy(
        {},
        {
          getPrototypeOf: () => {
            throw new Error('no');
          },
        },
      ),
    );
    expect(top).toMatchObject({ decision: 'deny', reason: 'request is invalid' });
  });

  it('still runs an allowed call and refuses a denied one', async () => {
    ran = [];
    await expect(shell({ command: 'df -h' })).resolves.toBe('df -h');
    await expect(shell({ command: 'rm -r -f /var/log' })).rejects.toBeInstanceOf(ActionDeniedError);
    expect(ran).toHaveLength(1);
    expect((await gateway.auditLog?.verify())?.ok).toBe(true);
  });
});

describe('ActionRuntime.execute', () => {
  it('returns the frozen copy it decided, which a later change to the event cannot reach', async () => {
    const runtime = await ActionRuntime.fromPolicy(join(capfence, 'devops_policy.yaml'));
    const event = ActionEvent.create({ actor: 'ops-agent', action: 'execute', resource: 'shell', payload: { command: 'df -h' } });
    const verdict = runtime.execute(event);
    (event.args as { command: string }).command = 'rm -rf /';
    const v = await verdict;
    expect(v).toMatchObject({ authorized: true, request: { args: { command: 'df -h' } } });
    expect(Object.isFrozen(v.request?.args)).toBe(true);
    expect((await runtime.execute({ ...event, args: { command: 1n } as never })).request).toBeUndefined();
    await runtime.close();
  });
});

describe('createGateway option errors are BastionExceptions', () => {
  it.each([
    ['policies: undefined (the review: a TypeError)', { policies: undefined }, 'createGateway: option `policies`: is required'],
    ['no options at all', undefined, 'createGateway: the options must be an object'],
    ['an undefined entry in the policy list', { policies: [capfence, undefined] }, 'createGateway: option `policies[1]`: must be a path'],
    ['a misspelt option that would turn the audit log off', { policies: [capfence], datadir: '/tmp/x' }, 'createGateway: option `datadir`: unknown option'],
    ['a data directory that is not a string', { policies: [capfence], dataDir: 42 }, 'createGateway: option `dataDir`: must be a non-empty directory path'],
    ['durable as a string', { policies: [capfence], durable: 'yes' }, 'createGateway: option `durable`: must be true or false'],
  ])('%s', async (_what, options, message) => {
    const thrown = await createGateway(options as unknown as GatewayOptions).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(BastionException);
    expect((thrown as BastionException).code).toBe('CONFIG_INVALID');
    expect((thrown as BastionException).message).toContain(message);
  });
});

describe('guard() applies the obligations of the allow', () => {
  let gateway: Gateway;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bastion-guard-obliged-'));
    writeFileSync(
      join(dir, 'obliged.yaml'),
      [
        'apiVersion: bastion/v1',
        'name: obliged',
        'actions:',
        '  notes.write: { secrets: redact }',
        'rules:',
        '  - id: allow-notes',
        '    effect: allow',
        '    actions: [notes.write]',
        '  - id: allow-slow-with-timeout',
        '    effect: allow',
        '    actions: [slow.task]',
        '    obligations: [{ type: timeout, seconds: 0.2 }]',
        '  - id: allow-shell-in-sandbox',
        '    effect: allow',
        '    actions: [shell.execute]',
        '    obligations: [{ type: sandbox }, { type: timeout, seconds: 60 }]',
        '',
      ].join('\n'),
    );
    gateway = await createGateway({ policies: [join(dir, 'obliged.yaml')], dataDir: join(dir, 'data') });
  });
  afterAll(async () => gateway.close());

  it('hands the tool the redacted arguments under `redact_arguments`, frozen, and the decision', async () => {
    const seen: unknown[] = [];
    const write = gateway.guard(
      'notes.write',
      (args: Record<string, unknown>, call) => {
        seen.push(
          args,
          Object.isFrozen(args),
          call.decision.obligations.map((o) => o.type),
          call.signal.aborted,
        );
        return 'written';
      },
      { principal },
    );
    const token = 'ghp_' + 'Zq8vR2mX5tL9wK3nB7yC4hJ6pD1sF0gA2eUx';
    await expect(write({ text: `the token is ${token}` })).resolves.toBe('written');
    expect(seen).toEqual([{ text: 'the token is [REDACTED:github-pat]' }, true, ['redact_arguments'], false]);
  });

  it('rejects with ActionTimeoutError and aborts the signal once the `timeout` seconds pass', async () => {
    let aborted: unknown;
    const slow = gateway.guard(
      'slow.task',
      (_args: Record<string, unknown>, { signal }) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
            resolve('stopped');
          });
        }),
      { principal },
    );
    const run = slow({});
    await expect(run).rejects.toBeInstanceOf(ActionTimeoutError);
    await expect(run).rejects.toThrow(/ran past the 0.2 s its allow \(allowed by obliged\/allow-slow-with-timeout\) gives it$/);
    expect(aborted).toBeInstanceOf(ActionTimeoutError);
    // A quick run is not cut off.
    const quick = gateway.guard('slow.task', () => 'done', { principal });
    await expect(quick({})).resolves.toBe('done');
  });

  it('refuses a call whose allow requires a sandbox (a function cannot get one), and records that it did not run', async () => {
    let ran = false;
    const shell = gateway.guard(
      'shell.execute',
      () => {
        ran = true;
      },
      { principal },
    );
    const run = shell({ command: 'ls' });
    await expect(run).rejects.toBeInstanceOf(ActionDeniedError);
    await expect(run).rejects.toThrow('denied: the allow requires a sandbox, which guard() cannot give a function (run commands through runCommand or `bastion exec`)');
    expect(ran).toBe(false);
    const events = (await gateway.auditLog?.query({ type: 'execution' })) ?? [];
    expect(events.map((e) => ({ action: e.action, decision: e.decision, ran: e.data?.['ran'], refused: e.data?.['refused'] }))).toEqual([
      { action: 'shell.execute', decision: 'deny', ran: false, refused: 'the allow requires a sandbox, which guard() cannot give a function (run commands through runCommand or `bastion exec`)' },
    ]);
  });
});
