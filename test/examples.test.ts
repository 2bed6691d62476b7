/**
 * The README's library example is a real program: it must keep running and say what the
 * README says it says.
 */

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('examples/library.mjs', () => {
  it('runs end to end against the built package', () => {
    const out = execFileSync(process.execPath, [new URL('../examples/library.mjs', import.meta.url).pathname], { encoding: 'utf8' });
    expect(out).toContain('jira_read: allow - authorized');
    expect(out).toContain('df -h: (would run: df -h)');
    expect(out).toContain('rm -r -f /var/log: denied: critical risk: denied by the baseline policy');
    expect(out).toContain('page scored as injection: true');
    expect(out).toContain('CapFence verdict: true allow - allowed: shell.execute');
    expect(out).toContain('audit intact: true');
  });
});
