import * as z from 'zod';
const { PrincipalSchema } = await import('./dist/core/request.js');
const obj = z.custom((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
const V = {
  current: PrincipalSchema,
  noDefault: z.strictObject({ id: z.string().min(1), groups: z.array(z.string()).exactOptional(), deviceCompliant: z.boolean().exactOptional(), attributes: obj.exactOptional() }),
  optional: z.strictObject({ id: z.string().min(1), groups: z.array(z.string()).optional(), deviceCompliant: z.boolean().optional(), attributes: obj.optional() }),
  strip: PrincipalSchema.strip(),
  looseNoDefault: z.object({ id: z.string().min(1), groups: z.array(z.string()).optional(), deviceCompliant: z.boolean().optional(), attributes: obj.optional() }),
};
const mk = () => Object.freeze({ id: 'alice', groups: Object.freeze(['dev', 'ops']), attributes: Object.freeze({ team: 'x' }) });
const best = {};
for (let r = 0; r < 20; r++) for (const [k, s] of Object.entries(V)) { const data = Array.from({ length: 20000 }, mk); const t = process.cpuUsage(); for (const d of data) s.safeParse(d); const u = process.cpuUsage(t); best[k] = Math.min(best[k] ?? Infinity, (u.user + u.system) / 20000); }
console.log(Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '));
