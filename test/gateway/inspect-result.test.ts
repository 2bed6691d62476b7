/**
 * gateway.inspectResult() with the audit log on: a malformed call is a BastionException
 * naming the field (the audit encoder never sees it), while a tool's output may hold any
 * string, lone surrogates included, and is still inspected and recorded.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { BastionException } from '../../src/core/errors.js';
import { createGateway, type Gateway } from '../../src/gateway/index.js';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'bastion-inspect-'));
let gateway: Gateway;

beforeAll(async () => {
  gateway = await createGateway({ policies: [join(root, 'examples/zyx')], dataDir });
});
afterAll(async () => {
  await gateway?.close();
});

async function eventCount(): Promise<number> {
  const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
  if (!reader.ok) throw new Error('cannot open the audit log');
  try {
    return await reader.value.size();
  } finally {
    await reader.value.close();
  }
}

const misuse: [string, unknown, string][] = [
  ['a lone surrogate in the trace id', { traceId: 't\ud800', action: 'confluence_read', text: 'ok' }, 'field `traceId` must be a non-empty string without lone surrogates'],
  ['a lone surrogate in the action', { traceId: 't', action: 'read\udc00', text: 'ok' }, 'field `action` must be a non-empty string without lone surrogates'],
  ['an empty trace id', { traceId: '', action: 'confluence_read', text: 'ok' }, 'field `traceId` must be a non-empty string without lone surrogates'],
  ['text that is not a string', { traceId: 't', action: 'confluence_read', text: { body: 'x' } }, 'field `text` must be a string'],
  ['a source that is not a string', { traceId: 't', action: 'confluence_read', text: 'ok', source: 7 }, 'field `source` must be a string'],
  ['no input at all', undefined, 'expects { traceId, action, text, source? }'],
];

describe('inspectResult input', () => {
  it.each(misuse)('%s is REQUEST_INVALID, not an internal error', async (_name, input, message) => {
    const size = await eventCount();
    await expect(gateway.inspectResult(input as never)).rejects.toSatisfy((e: unknown) => e instanceof BastionException && e.code === 'REQUEST_INVALID' && e.message === `inspectResult: ${message}`);
    expect(await eventCount()).toBe(size);
  });

  it('inspects and records a tool output holding a lone surrogate', async () => {
    const r = await gateway.inspectResult({ traceId: 'lone', action: 'confluence_read', text: 'bytes \ud800 then AKIAZ7VQ3XKQ2M5PLR4T' });
    expect(r.action).toBe('redact');
    expect(r.text).toContain('[REDACTED:aws-access-key]');
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error('cannot open the audit log');
    expect(await reader.value.getTrace('lone')).toMatchObject([{ type: 'validation', action: 'confluence_read' }]);
    await reader.value.close();
  });
});
