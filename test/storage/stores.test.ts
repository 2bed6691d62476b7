/**
 * The stores of a data directory, opened together (`openSqliteStores`): one SQLite file,
 * one connection shared by the audit log and the state stores, closed together.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../src/storage/index.js';
import { Database } from '../../src/storage/sqlite/driver.js';

const dataDir = () => mkdtempSync(join(tmpdir(), 'bastion-stores-'));

async function open(dir: string) {
  const opened = await openSqliteStores(dir);
  if (!opened.ok) throw new Error(opened.errors.map((e) => e.message).join('; '));
  return opened.value;
}

describe('openSqliteStores', () => {
  it('keeps the kill switch and the audit log in DIR/bastion.db across a reopen', async () => {
    const dir = dataDir();
    const first = await open(dir);
    await first.killSwitch.update({ read_only_mode: true, reason: 'incident 7' });
    await first.audit?.append({ type: 'kill_switch.changed', data: { by: 'test' } });
    await first.close();

    const second = await open(dir);
    expect(await second.killSwitch.get()).toMatchObject({ read_only_mode: true, reason: 'incident 7', all_write_tools_disabled: false });
    expect(await second.audit?.verify()).toMatchObject({ ok: true, lastSeq: 1 });
    await second.close();
  });

  it('closing a state store leaves the shared connection to the audit log open', async () => {
    const stores = await open(dataDir());
    await stores.killSwitch.close();
    await stores.approvals.close();
    await expect(stores.audit?.append({ type: 'service.start', data: {} })).resolves.toMatchObject({ seq: 1 });
    await expect(stores.killSwitch.get()).rejects.toThrow(/closed/);
    await stores.close();
  });

  it('a kill-switch row edited by another process is read again and refused when malformed', async () => {
    const dir = dataDir();
    const stores = await open(dir);
    await stores.killSwitch.update({ disabled_users: ['mallory'] });
    expect((await stores.killSwitch.get()).disabled_users).toEqual(['mallory']);
    const other = new Database(join(dir, 'bastion.db'));
    other
      .prepare('UPDATE killswitch_state SET state = ? WHERE id = 1')
      .run(JSON.stringify({ all_write_tools_disabled: false, read_only_mode: false, disabled_connectors: [], disabled_users: [], disabled_workflows: [] }));
    expect((await stores.killSwitch.get()).disabled_users).toEqual([]);
    other.prepare('UPDATE killswitch_state SET state = ? WHERE id = 1').run('{"read_only_mode": "yes"}');
    other.close();
    await expect(stores.killSwitch.get()).rejects.toThrow(/malformed/);
    await stores.close();
  });

  it('a returned state is a copy: changing it changes nothing stored', async () => {
    const stores = await open(dataDir());
    await stores.killSwitch.update({ disabled_users: ['a'] });
    const state = await stores.killSwitch.get();
    state.disabled_users.push('b');
    expect((await stores.killSwitch.get()).disabled_users).toEqual(['a']);
    await stores.close();
  });
});
