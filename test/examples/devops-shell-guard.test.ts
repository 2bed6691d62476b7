/**
 * The CapFence seed's whole demo, `examples/devops-shell-guard.ts`, run as a user runs it:
 * the safe diagnostic really runs in the bubblewrap sandbox and prints its output, the
 * destructive command and the exfiltration attempt are blocked with their reasons, and
 * `systemctl restart` waits for an approval, which the operator on call gives.
 */

import { describe, expect, it } from 'vitest';
import { runExample } from '../helpers/run-example.js';

describe('examples/devops-shell-guard.ts', () => {
  it('runs the seed demo end to end', async () => {
    const run = await runExample('devops-shell-guard.ts');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toContain('DevOps Shell Guard initialized.');
    // Scenario 1: allowed, run in the sandbox without network, df's own header printed.
    expect(out).toMatch(
      /--- Scenario 1: Safe Diagnostic Command ---\nVerdict: Authorized=true \| Decision=allow \| Reason=allowed: shell\.execute\nRan in the sandbox \(network off\), exit 0:\nFilesystem\s+Size\s+Used/u,
    );
    // Scenario 2 and 3: denied, with the reasons, never run.
    expect(out).toMatch(
      /--- Scenario 2: Dangerous Command Intercepted ---\nVerdict: Authorized=false \| Decision=deny \| Reason=denied: shell\.execute contains "rm -rf"\n\[SECURITY ACTION\] Prevented catastrophic command execution: 'rm -rf \/var\/log'/u,
    );
    expect(out).toMatch(
      /--- Scenario 3: Egress Exfiltration Blocked ---\nVerdict: Authorized=false \| Decision=deny \| Reason=denied: shell\.execute contains "curl"\n\[SECURITY ACTION\] Blocked illegal data egress attempt/u,
    );
    // Scenario 4: the approval is asked for, the operator approves, the restart then runs
    // (systemctl has no service manager to talk to in the sandbox: it runs and fails there).
    expect(out).toMatch(
      /--- Scenario 4: Service Restart Needs an Operator ---\nWaiting for approval \S+ \(bastion-approvers\)\nVerdict: Authorized=true \| Decision=allow \| Reason=allowed by an approval bound to this call\nRan in the sandbox \(network off\), exit 1:/u,
    );
    expect(out).toMatch(/\nAudit trail: intact, 15 events\n$/u);
  }, 90_000);
});
