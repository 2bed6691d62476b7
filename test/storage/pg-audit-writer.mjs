// One replica of the multi-process PostgreSQL audit test: opens the shared log through the
// built adapters (dist/) with the shared signing key, waits for the start signal on stdin so
// every replica appends at once, appends its events in concurrent bursts (the log batches
// them), closes (signing a checkpoint) and prints its receipts' seqs as JSON.
const [dist, url, keyDir, name, count] = process.argv.slice(2);
const { openPostgresAuditLog } = await import(`${dist}/storage/index.js`);
const { keyDirectory } = await import(`${dist}/audit/index.js`);

const opened = await openPostgresAuditLog(url, { key: keyDirectory(keyDir), checkpoint: { everyEvents: 100, everySeconds: 0 } });
if (!opened.ok) {
  process.stderr.write(`${opened.errors[0].message}\n`);
  process.exit(1);
}
const log = opened.value;
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
const seqs = [];
const burst = 25;
for (let i = 0; i < Number(count); i += burst) {
  const receipts = await Promise.all(
    Array.from({ length: Math.min(burst, Number(count) - i) }, (_, j) =>
      log.append({ type: 'decision', traceId: `${name}-${i + j}`, principal: { id: name, groups: ['replicas'] }, action: 'jira_read', decision: 'allow', reason: 'allowed' }),
    ),
  );
  seqs.push(...receipts.map((r) => r.seq));
}
await log.close();
process.stdout.write(`${JSON.stringify(seqs)}\n`);
