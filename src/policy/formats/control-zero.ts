/**
 * Control Zero JSON (seed 000): `{name, priority, rules[{id, effect, principals, actions,
 * resources, conditions}]}`. `conditions: {danger_level: X}` compares the effective risk
 * (the highest of the declared risks and the analyzed risk): on a deny or require_approval
 * rule it holds at X or above, on an allow rule at X or below, so "allow when danger is low"
 * never allows a medium call. `environment` compares the request's environment; any other
 * key compares `context.<key>` (a list means "one of").
 */

import { isRisk } from '../../core/risk.js';
import { API_VERSION, type NativeRule } from '../model.js';
import { Checker, type TranslateResult } from './common.js';
import { isPlainObject } from '../../core/schema.js';

const POLICY_FIELDS = ['name', 'description', 'priority', 'rules'];
const RULE_FIELDS = ['id', 'effect', 'description', 'principals', 'actions', 'resources', 'conditions'];

export function isControlZero(doc: unknown): boolean {
  return isPlainObject(doc) && doc['apiVersion'] === undefined && Array.isArray(doc['rules']) && typeof doc['name'] === 'string';
}

export function translateControlZero(doc: Record<string, unknown>): TranslateResult {
  const c = new Checker();
  c.fields(doc, POLICY_FIELDS, [], 'a Control Zero policy');
  const priority = doc['priority'];
  if (priority !== undefined && typeof priority !== 'number') c.fail(['priority'], '`priority` must be a number');
  const rules: NativeRule[] = [];
  (doc['rules'] as unknown[]).forEach((raw, i) => {
    const at = ['rules', i];
    if (!isPlainObject(raw)) return c.fail(at, 'a rule must be a mapping');
    c.fields(raw, RULE_FIELDS, at, 'a Control Zero rule');
    const rule: Record<string, unknown> = {
      id: raw['id'],
      effect: raw['effect'],
      principals: raw['principals'] ?? ['*'],
      actions: raw['actions'],
      resources: raw['resources'] ?? ['*'],
    };
    if (raw['description'] !== undefined) rule['description'] = raw['description'];
    const conditions = raw['conditions'];
    if (conditions !== undefined) {
      if (!isPlainObject(conditions)) c.fail([...at, 'conditions'], '`conditions` must be a mapping');
      else {
        rule['when'] = Object.entries(conditions).map(([key, value]) => {
          if (key === 'danger_level') {
            if (!isRisk(value)) c.fail([...at, 'conditions', key], '`danger_level` must be low, medium, high or critical');
            // INVARIANT: an allow never widens with risk. A deny or an approval gate (a
            // conditional permit) covers its level and everything above it.
            return raw['effect'] === 'allow' ? { field: 'risk', lte: value } : { field: 'risk', gte: value };
          }
          const field = key === 'environment' ? 'environment' : `context.${key}`;
          return Array.isArray(value) ? { field, in: value } : { field, equals: value };
        });
      }
    }
    // Shapes (effect, ids, lists) are checked by the native validator after translation.
    rules.push(rule as unknown as NativeRule);
  });
  const policy = {
    apiVersion: API_VERSION,
    name: doc['name'] as string,
    ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}),
    ...(typeof priority === 'number' ? { priority } : {}),
    rules,
  };
  return c.result(policy);
}
