/**
 * Whether a WHERE clause (a node-sql-parser expression) filters rows at all. `WHERE 1=1`,
 * `WHERE 'a'='a'`, `WHERE true`, `WHERE 1`, `WHERE id = id`, `WHERE name LIKE '%'` and
 * `… OR 1=1` match every row, so a DELETE or UPDATE with them is as broad as one without a
 * WHERE. A condition that reads no column of the row is all-or-nothing: unless it is
 * provably false (`1=0`), it counts as matching every row (fail closed).
 */

type Node = Record<string, unknown>;

type Const = { known: true; value: number | string | boolean | null } | { known: false };

const UNKNOWN: Const = { known: false };

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function op(e: Node): string {
  return String(e['operator'] ?? '')
    .toUpperCase()
    .replace(/\s+/g, ' ');
}

/** True when no column of the row is referenced anywhere inside (subqueries included). */
function rowIndependent(e: unknown): boolean {
  if (Array.isArray(e)) return e.every(rowIndependent);
  if (!isNode(e)) return true;
  if (e['type'] === 'column_ref') return false;
  return Object.values(e).every(rowIndependent);
}

function constant(e: unknown): Const {
  if (!isNode(e)) return UNKNOWN;
  const type = String(e['type'] ?? '');
  if (type === 'number') {
    const v = Number(e['value']);
    return Number.isFinite(v) ? { known: true, value: v } : UNKNOWN;
  }
  if (type === 'bool' || type === 'boolean') return typeof e['value'] === 'boolean' ? { known: true, value: e['value'] } : UNKNOWN;
  if (type === 'null') return { known: true, value: null };
  if (/string$/.test(type) && typeof e['value'] === 'string') return { known: true, value: e['value'] };
  if (type === 'unary_expr') {
    const inner = constant(e['expr']);
    if (!inner.known) return UNKNOWN;
    if (op(e) === 'NOT' || op(e) === '!') return typeof inner.value === 'boolean' || typeof inner.value === 'number' ? { known: true, value: !truthy(inner.value) } : UNKNOWN;
    if (op(e) === '-' && typeof inner.value === 'number') return { known: true, value: -inner.value };
    return UNKNOWN;
  }
  if (type !== 'binary_expr') return UNKNOWN;
  const l = constant(e['left']);
  const r = constant(e['right']);
  if (!l.known || !r.known) return UNKNOWN;
  const a = l.value;
  const b = r.value;
  const o = op(e);
  if (o === 'IS') return b === null ? { known: true, value: a === null } : UNKNOWN;
  if (o === 'IS NOT') return b === null ? { known: true, value: a !== null } : UNKNOWN;
  if (a === null || b === null) return { known: true, value: null };
  // Mixed types compare differently per dialect (`'1' = 1` is true in MySQL, an error in
  // PostgreSQL); strings compare case-insensitively under MySQL's default collation.
  if (typeof a !== typeof b) return UNKNOWN;
  if (typeof a === 'string' && typeof b === 'string' && a !== b && a.toLowerCase() === b.toLowerCase()) return UNKNOWN;
  switch (o) {
    case '=':
    case '==':
    case '<=>':
      return { known: true, value: a === b };
    case '!=':
    case '<>':
      return { known: true, value: a !== b };
    case '<':
      return { known: true, value: a < b };
    case '>':
      return { known: true, value: a > b };
    case '<=':
      return { known: true, value: a <= b };
    case '>=':
      return { known: true, value: a >= b };
    case '+':
    case '-':
    case '*':
      return typeof a === 'number' && typeof b === 'number' ? { known: true, value: o === '+' ? a + b : o === '-' ? a - b : a * b } : UNKNOWN;
    case 'AND':
    case '&&':
      return typeof a !== 'string' && typeof b !== 'string' ? { known: true, value: truthy(a) && truthy(b) } : UNKNOWN;
    case 'OR':
    case '||':
      return typeof a !== 'string' && typeof b !== 'string' ? { known: true, value: truthy(a) || truthy(b) } : UNKNOWN;
    default:
      return UNKNOWN;
  }
}

function truthy(v: number | string | boolean | null): boolean {
  return v !== null && v !== false && v !== 0 && v !== '';
}

/** Known to be false (or NULL) for every row. */
function provablyFalse(e: unknown): boolean {
  const c = constant(e);
  return c.known && typeof c.value !== 'string' && !truthy(c.value);
}

function isNullTest(e: unknown): { subject: string; negated: boolean } | undefined {
  if (!isNode(e) || e['type'] !== 'binary_expr' || !isNode(e['right']) || e['right']['type'] !== 'null') return undefined;
  if (op(e) === 'IS') return { subject: JSON.stringify(e['left']), negated: false };
  if (op(e) === 'IS NOT') return { subject: JSON.stringify(e['left']), negated: true };
  return undefined;
}

/**
 * True when the condition matches every row, as far as can be told without the data.
 *
 * @example matchesEveryRow({ type: 'binary_expr', operator: '=', left: { type: 'number', value: 1 }, right: { type: 'number', value: 1 } }) // true
 */
export function matchesEveryRow(e: unknown): boolean {
  if (!isNode(e)) return true;
  const type = String(e['type'] ?? '');
  const o = op(e);
  if (type === 'binary_expr' && (o === 'OR' || o === '||' || o === 'XOR')) {
    if (o !== 'XOR' && (matchesEveryRow(e['left']) || matchesEveryRow(e['right']))) return true;
    const a = isNullTest(e['left']);
    const b = isNullTest(e['right']);
    if (a !== undefined && b !== undefined && a.subject === b.subject && a.negated !== b.negated) return true;
  }
  if (type === 'binary_expr' && (o === 'AND' || o === '&&')) return matchesEveryRow(e['left']) && matchesEveryRow(e['right']);
  if (type === 'unary_expr' && (o === 'NOT' || o === '!')) return matchesNoRow(e['expr']);
  if (type === 'binary_expr' && ['=', '==', '<=>', '>=', '<=', 'LIKE', 'ILIKE'].includes(o) && JSON.stringify(e['left']) === JSON.stringify(e['right'])) return true;
  if (type === 'binary_expr' && (o === 'LIKE' || o === 'ILIKE') && isNode(e['right']) && typeof e['right']['value'] === 'string' && /^%+$/.test(e['right']['value'])) return true;
  return rowIndependent(e) && !provablyFalse(e);
}

function matchesNoRow(e: unknown): boolean {
  if (!isNode(e)) return false;
  const type = String(e['type'] ?? '');
  const o = op(e);
  if (type === 'binary_expr' && (o === 'OR' || o === '||')) return matchesNoRow(e['left']) && matchesNoRow(e['right']);
  if (type === 'binary_expr' && (o === 'AND' || o === '&&')) return matchesNoRow(e['left']) || matchesNoRow(e['right']);
  if (type === 'unary_expr' && (o === 'NOT' || o === '!')) return matchesEveryRow(e['expr']);
  return rowIndependent(e) && provablyFalse(e);
}
