const { ActionRequestSchema, PrincipalSchema } = await import('./dist/core/request.js');
const mk = (i) => ({ principal: Object.freeze({ id: 'alice', groups: Object.freeze(['dev', 'ops']), attributes: Object.freeze({ team: 'x' }) }), action: 'shell.execute', resource: 'host-' + i, environment: 'production', args: Object.freeze({ command: 'ls -la /tmp' }), context: Object.freeze({ ticket: 'T-1', risk: 'low' }), risk: 'medium' });
const S = { full: ActionRequestSchema, top: ActionRequestSchema.pick({ action: true, resource: true, environment: true, risk: true }), principal: PrincipalSchema, ctx: ActionRequestSchema.pick({ context: true }), args: ActionRequestSchema.pick({ args: true }) };
const pick = { full: (x) => x, top: (x) => ({ action: x.action, resource: x.resource, environment: x.environment, risk: x.risk }), principal: (x) => x.principal, ctx: (x) => ({ context: x.context }), args: (x) => ({ args: x.args }) };
const best = {};
for (let r = 0; r < 20; r++) for (const [k, s] of Object.entries(S)) { const data = Array.from({ length: 20000 }, (_, i) => pick[k](mk(i))); const t = process.cpuUsage(); for (const d of data) s.safeParse(d); const u = process.cpuUsage(t); best[k] = Math.min(best[k] ?? Infinity, (u.user + u.system) / 20000); }
console.log(Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '));
