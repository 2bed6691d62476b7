import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteAuditLog, openSqliteAuditReader } from '../../src/storage/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WRITER = fileURLToPath(new URL('./crash-writer.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/audit/index.js', import.meta.url));

/** Runs the writer until it acknowledged at least `minAcks` events, then SIGKILLs it. */
function runAndKill(path: string, minAcks: number): Promise<Map<number, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<number, number>();
    let buffer = '';
    let stderr = '';
    let killed = false;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const [seq, n] = line.split(' ').map(Number);
        if (seq !== undefined && n !== undefined && Number.isInteger(seq) && Number.isInteger(n)) acked.set(seq, n);
      }
      if (!killed && acked.size >= minAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(deadline);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited without being killed: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('audit log crash safety', () => {
  it.skipIf(!existsSync(DIST))(
    'keeps every acknowledged event when the writer is SIGKILLed under load, and the chain verifies',
    async () => {
      const path = join(dir, 'bastion.db');
      for (const round of [1, 2]) {
        const acked = await runAndKill(path, 3000 * round);
        expect(acked.size, `round ${round}: the writer acknowledged events`).toBeGreaterThanOrEqual(3000);
        const reader = await openSqliteAuditReader(path);
        if (!reader.ok) throw new Error(reader.errors[0]?.message);
        const report = await reader.value.verify();
        expect(report.ok, `round ${round}: ${report.failure?.reason ?? ''}`).toBe(true);
        const missing: number[] = [];
        for (const [seq, n] of acked) {
          const event = (await reader.value.eventsAfter(seq - 1, 1))[0];
          if (event?.seq !== seq || (event.data as { n?: number } | undefined)?.n !== n) missing.push(seq);
        }
        expect(missing, `round ${round}: acknowledged events lost or changed`).toEqual([]);
        expect(report.lastSeq).toBeGreaterThanOrEqual(Math.max(...acked.keys()));
        await reader.value.close();
      }
      // The log reopens for writing after the crashes and continues the chain.
      const log = await openSqliteAuditLog(path);
      if (!log.ok) throw new Error(log.errors[0]?.message);
      await log.value.append({ type: 'service.start' });
      expect((await log.value.verify()).ok).toBe(true);
      await log.value.close();
    },
    60_000,
  );

  it('has the built module the crash writer imports (npm test builds it first)', () => {
    expect(existsSync(DIST), 'run `npm run build` first').toBe(true);
  });
});
