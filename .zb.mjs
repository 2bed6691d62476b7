import * as z from 'zod';
const { ActionRequestSchema, PrincipalSchema } = await import('./dist/core/request.js');
const mk = (i) => ({ principal: { id: 'alice', groups: ['dev', 'ops'], attributes: { team: 'x' } }, action: 'shell.execute', resource: 'host-' + i, environment: 'production', args: { command: 'ls -la /tmp', nested: { a: [1, 2, 3], b: 'text' } }, context: { ticket: 'T-1', risk: 'low' }, risk: 'medium' });
const tiny = z.strictObject({ action: z.string() });
const tinyLoose = z.object({ action: z.string() });
function run(s, pick = (x) => x) { const fresh = Array.from({ length: 100000 }, (_, i) => pick(mk(i))); const t = performance.now(); for (let i = 0; i < 100000; i++) if (!s.safeParse(fresh[i]).success) throw new Error(); return performance.now() - t; }
function best(s, pick) { for (let k = 0; k < 3; k++) run(s, pick); let m = Infinity; for (let k = 0; k < 7; k++) m = Math.min(m, run(s, pick)); return m.toFixed(0); }
console.log('full', best(ActionRequestSchema), 'principal', best(PrincipalSchema, (x) => x.principal), 'tiny strict', best(tiny, (x) => ({ action: x.action })), 'tiny object', best(tinyLoose, (x) => ({ action: x.action })));
console.log('jitless?', z.config().jitless);
const obj = (m) => z.custom((v) => typeof v === 'object' && v !== null && !Array.isArray(v), { error: m });
const P1 = z.strictObject({ id: z.string().min(1), groups: z.array(z.string()), deviceCompliant: z.boolean().exactOptional(), attributes: obj('x').exactOptional() });
const P2 = z.strictObject({ id: z.string().min(1), groups: z.array(z.string()).default(() => []), deviceCompliant: z.boolean().exactOptional(), attributes: obj('x').exactOptional() });
const P3 = z.strictObject({ id: z.string().min(1), groups: z.array(z.string()).optional(), deviceCompliant: z.boolean().optional(), attributes: obj('x').optional() });
const P4 = z.strictObject({ id: z.string().min(1), groups: z.array(z.string()) });
const P5 = z.strictObject({ id: z.string({error: 'e'}).min(1, {error: 'e'}), groups: z.array(z.string({error: 'e'}), {error: 'e'}) }, { error: () => 'e' });
const pk = (x) => x.principal;
console.log('P1', best(P1, pk), 'P2 default', best(P2, pk), 'P3 optional', best(P3, pk), 'P4 two fields', best(P4, (x) => ({ id: x.principal.id, groups: x.principal.groups })), 'P5 errors', best(P5, (x) => ({ id: x.principal.id, groups: x.principal.groups })));
const Loose = ActionRequestSchema.extend({ principal: PrincipalSchema.strip() }).strip();
console.log('loose', best(Loose), 'full', best(ActionRequestSchema), 'loose', best(Loose), 'full', best(ActionRequestSchema));
const r = Loose.safeParse({ principal: { id: 'a' }, action: 'x' }); console.log(JSON.stringify(r.data));
