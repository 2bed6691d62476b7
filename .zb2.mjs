import * as z from 'zod';
const { ActionRequestSchema, PrincipalSchema } = await import('./dist/core/request.js');
const mk = (i) => ({ principal: { id: 'alice', groups: ['dev', 'ops'], attributes: { team: 'x' } }, action: 'shell.execute', resource: 'host-' + i, environment: 'production', args: { command: 'ls -la /tmp', nested: { a: [1, 2, 3], b: 'text' } }, context: { ticket: 'T-1', risk: 'low' }, risk: 'medium' });
const Loose = ActionRequestSchema.extend({ principal: PrincipalSchema.strip() }).strip();
const variants = { full: ActionRequestSchema, loose: Loose };
const data = Array.from({ length: 20000 }, (_, i) => mk(i));
const best = {};
for (let round = 0; round < 30; round++) for (const [name, s] of Object.entries(variants)) { const t = process.cpuUsage(); for (const d of data) s.safeParse(d); const u = process.cpuUsage(t); const us = (u.user + u.system) / 20000; best[name] = Math.min(best[name] ?? Infinity, us); }
console.log(Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(2)} µs`).join(', '));
