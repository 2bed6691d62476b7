/**
 * The audit event records the declared risk the decision used: the highest of `risk`,
 * `context.danger_level` and `context.risk` (review finding 3), not `risk` alone.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openSqliteAuditReader } from '../../src/storage/index.js';
import { createGateway } from '../../src/gateway/index.js';

const root = new URL('../..', import.meta.url).pathname;

it.each([
  ['a low risk beside a critical danger level', { risk: 'low', context: { danger_level: 'critical' } }, 'critical'],
  ['a context risk above the declared risk', { risk: 'medium', context: { risk: 'high' } }, 'high'],
  ['a danger level alone', { context: { danger_level: 'medium' } }, 'medium'],
] as const)('records %s as the declared risk', async (_name, fields, expected) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bastion-declared-'));
  const gateway = await createGateway({ policies: [join(root, 'examples/control-zero')], dataDir });
  try {
    const d = await gateway.decide({ principal: { id: 'a', groups: ['admin'] }, action: 'sys:execute', args: { command: 'ls' }, ...fields });
    const reader = await openSqliteAuditReader(join(dataDir, 'bastion.db'));
    if (!reader.ok) throw new Error('cannot open the audit log');
    // A held call's trace also holds its `approval.requested` event.
    const event = (await reader.value.getTrace(d.traceId)).find((e) => e.type === 'decision');
    await reader.value.close();
    expect(event?.data?.['declaredRisk']).toBe(expected);
  } finally {
    await gateway.close();
  }
});
