// Child process of the crash test: appends audit events under load and prints
// "<seq> <n>" for every append the log acknowledged (i.e. after it was durable).
import { openSqliteAuditLog } from '../../dist/storage/index.js';

const opened = await openSqliteAuditLog(process.argv[2], { checkpoint: { everyEvents: 500, everySeconds: 1 } });
if (!opened.ok) {
  process.stderr.write(opened.errors.map((e) => e.message).join('\n') + '\n');
  process.exit(2);
}
const log = opened.value;
let n = 0;
const IN_FLIGHT = 64;

async function worker() {
  for (;;) {
    const mine = ++n;
    const receipt = await log.append({
      type: 'decision',
      traceId: `crash-${mine}`,
      principal: { id: 'load@zyx.example', groups: ['grp-load'] },
      action: 'shell.execute',
      decision: mine % 3 ? 'allow' : 'deny',
      reason: 'load test',
      risk: 'low',
      args: { command: `echo ${mine}`, padding: 'x'.repeat(200) },
      data: { n: mine },
    });
    // Synchronous on a pipe: once written, the parent can read it even after SIGKILL.
    process.stdout.write(`${receipt.seq} ${mine}\n`);
  }
}

process.stdout.write('ready\n');
for (let i = 0; i < IN_FLIGHT; i++) void worker();
