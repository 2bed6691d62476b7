/**
 * Validates a native (`apiVersion: bastion/v1`) policy document: known fields only, right
 * types, unique rule ids. Problems carry the path of the offending field so the loader can
 * point at a line and column.
 */

import { isRisk } from '../core/risk.js';
import { EFFECTS } from '../core/types.js';
import { compileGlob } from '../core/glob.js';
import type { ErrorCode } from '../core/errors.js';
import { API_VERSION, CONTENT_MODES, type NativePolicy } from './model.js';

export interface Problem {
  path: (string | number)[];
  message: string;
  code: ErrorCode;
}

export const POLICY_FIELDS = ['apiVersion', 'kind', 'name', 'description', 'priority', 'defaultReason', 'actions', 'analyzers', 'rules'];
export const RULE_FIELDS = ['id', 'effect', 'description', 'reason', 'principals', 'actions', 'resources', 'environments', 'when', 'approval', 'obligations'];
export const APPROVAL_FIELDS = ['groups', 'quorum', 'expiresIn', 'changeTicket', 'rollbackPlan'];
export const ACTION_META_FIELDS = ['write', 'connector', 'risk', 'secrets', 'output', 'description'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownFields(obj: Record<string, unknown>, allowed: readonly string[], path: (string | number)[], what: string, out: Problem[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) out.push({ path: [...path, key], message: `unknown field \`${key}\` in ${what} (expected one of ${allowed.join(', ')})`, code: 'POLICY_INVALID' });
  }
}

function stringList(v: unknown, path: (string | number)[], field: string, out: Problem[], nonEmpty = true): void {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '') || (nonEmpty && v.length === 0)) {
    out.push({ path, message: `\`${field}\` must be a ${nonEmpty ? 'non-empty ' : ''}list of non-empty strings`, code: 'POLICY_INVALID' });
  }
}

const DURATION = /^(\d+)(s|m|h|d)$/;

/** Parses `expiresIn`: seconds as a number, or `30s`, `15m`, `4h`, `7d`. */
export function parseDuration(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = DURATION.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return n > 0 ? n * unit : undefined;
}

/**
 * Checks the shape of a native policy document. Returns the problems found; when there are
 * none, the document may be used as a `NativePolicy`. Conditions, globs and regexes are
 * checked later, when the rules are compiled.
 */
export function validateNative(doc: unknown): Problem[] {
  const out: Problem[] = [];
  if (!isObject(doc)) return [{ path: [], message: 'a policy must be a mapping', code: 'POLICY_INVALID' }];
  unknownFields(doc, POLICY_FIELDS, [], 'a policy', out);
  if (doc['apiVersion'] !== API_VERSION) out.push({ path: ['apiVersion'], message: `\`apiVersion\` must be \`${API_VERSION}\``, code: 'POLICY_INVALID' });
  if (doc['kind'] !== undefined && doc['kind'] !== 'Policy') out.push({ path: ['kind'], message: '`kind` must be `Policy`', code: 'POLICY_INVALID' });
  if (typeof doc['name'] !== 'string' || doc['name'] === '') out.push({ path: ['name'], message: '`name` must be a non-empty string', code: 'POLICY_INVALID' });
  for (const f of ['description', 'defaultReason']) {
    if (doc[f] !== undefined && typeof doc[f] !== 'string') out.push({ path: [f], message: `\`${f}\` must be a string`, code: 'POLICY_INVALID' });
  }
  if (doc['priority'] !== undefined && (typeof doc['priority'] !== 'number' || !Number.isFinite(doc['priority']))) {
    out.push({ path: ['priority'], message: '`priority` must be a number', code: 'POLICY_INVALID' });
  }
  const actions = doc['actions'];
  if (actions !== undefined) {
    if (!isObject(actions)) out.push({ path: ['actions'], message: '`actions` must map action names to their metadata', code: 'POLICY_INVALID' });
    else {
      for (const [name, meta] of Object.entries(actions)) {
        if (!isObject(meta)) {
          out.push({ path: ['actions', name], message: 'action metadata must be a mapping', code: 'POLICY_INVALID' });
          continue;
        }
        const glob = compileGlob(name);
        if (!glob.ok) out.push({ path: ['actions', name], message: `invalid glob \`${name}\`: ${glob.message}`, code: 'POLICY_BAD_GLOB' });
        unknownFields(meta, ACTION_META_FIELDS, ['actions', name], `action \`${name}\``, out);
        if (meta['write'] !== undefined && typeof meta['write'] !== 'boolean') out.push({ path: ['actions', name, 'write'], message: '`write` must be true or false', code: 'POLICY_INVALID' });
        if (meta['risk'] !== undefined && !isRisk(meta['risk'])) out.push({ path: ['actions', name, 'risk'], message: '`risk` must be low, medium, high or critical', code: 'POLICY_INVALID' });
        for (const f of ['secrets', 'output']) {
          if (meta[f] !== undefined && !(CONTENT_MODES as readonly unknown[]).includes(meta[f])) out.push({ path: ['actions', name, f], message: `\`${f}\` must be block, redact or allow`, code: 'POLICY_INVALID' });
        }
        if (meta['connector'] !== undefined && typeof meta['connector'] !== 'string') out.push({ path: ['actions', name, 'connector'], message: '`connector` must be a string', code: 'POLICY_INVALID' });
      }
    }
  }
  const rules = doc['rules'];
  if (!Array.isArray(rules)) {
    out.push({ path: ['rules'], message: '`rules` must be a list', code: 'POLICY_INVALID' });
    return out;
  }
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => validateRule(rule, i, seen, out));
  return out;
}

function validateRule(rule: unknown, i: number, seen: Map<string, number>, out: Problem[]): void {
  const at: (string | number)[] = ['rules', i];
  if (!isObject(rule)) {
    out.push({ path: at, message: 'a rule must be a mapping', code: 'POLICY_INVALID' });
    return;
  }
  const id = rule['id'];
  const label = typeof id === 'string' && id !== '' ? `rule \`${id}\`: ` : '';
  const sub = (p: Problem) => out.push({ ...p, message: label + p.message });
  if (typeof id !== 'string' || id === '') sub({ path: [...at, 'id'], message: '`id` must be a non-empty string', code: 'POLICY_INVALID' });
  else if (seen.has(id)) sub({ path: [...at, 'id'], message: `duplicate rule id \`${id}\` (first used by rule ${(seen.get(id) as number) + 1})`, code: 'POLICY_DUPLICATE_RULE' });
  else seen.set(id, i);
  const before = out.length;
  unknownFields(rule, RULE_FIELDS, at, 'a rule', out);
  for (let k = before; k < out.length; k++) (out[k] as Problem).message = label + (out[k] as Problem).message;
  const effect = rule['effect'];
  if (typeof effect !== 'string' || !(EFFECTS as readonly string[]).includes(effect)) {
    sub({ path: [...at, 'effect'], message: effect === undefined ? '`effect` is required (allow, deny or require_approval)' : `unknown effect \`${String(effect)}\` (expected allow, deny or require_approval)`, code: 'POLICY_INVALID' });
  }
  for (const f of ['description', 'reason']) {
    if (rule[f] !== undefined && typeof rule[f] !== 'string') sub({ path: [...at, f], message: `\`${f}\` must be a string`, code: 'POLICY_INVALID' });
  }
  if (rule['actions'] === undefined) sub({ path: [...at, 'actions'], message: '`actions` is required (use `["*"]` for every action)', code: 'POLICY_INVALID' });
  for (const f of ['principals', 'actions', 'resources', 'environments']) {
    if (rule[f] !== undefined) {
      const tmp: Problem[] = [];
      stringList(rule[f], [...at, f], f, tmp);
      tmp.forEach(sub);
    }
  }
  if (rule['when'] !== undefined && !Array.isArray(rule['when']) && !isObject(rule['when'])) {
    sub({ path: [...at, 'when'], message: '`when` must be a condition or a list of conditions', code: 'POLICY_INVALID' });
  }
  const approval = rule['approval'];
  if (approval !== undefined) {
    if (effect !== 'require_approval') sub({ path: [...at, 'approval'], message: '`approval` is only allowed on a `require_approval` rule', code: 'POLICY_INVALID' });
    if (!isObject(approval)) sub({ path: [...at, 'approval'], message: '`approval` must be a mapping', code: 'POLICY_INVALID' });
    else {
      const tmp: Problem[] = [];
      unknownFields(approval, APPROVAL_FIELDS, [...at, 'approval'], 'an approval', tmp);
      if (approval['groups'] !== undefined) stringList(approval['groups'], [...at, 'approval', 'groups'], 'groups', tmp);
      const q = approval['quorum'];
      if (q !== undefined && (typeof q !== 'number' || !Number.isInteger(q) || q < 1)) tmp.push({ path: [...at, 'approval', 'quorum'], message: '`quorum` must be a whole number of at least 1', code: 'POLICY_INVALID' });
      const e = approval['expiresIn'];
      if (e !== undefined && ((typeof e !== 'number' && typeof e !== 'string') || parseDuration(e) === undefined)) {
        tmp.push({ path: [...at, 'approval', 'expiresIn'], message: '`expiresIn` must be a positive number of seconds or a duration such as `30m`, `4h`, `7d`', code: 'POLICY_INVALID' });
      }
      for (const f of ['changeTicket', 'rollbackPlan']) {
        if (approval[f] !== undefined && typeof approval[f] !== 'boolean') tmp.push({ path: [...at, 'approval', f], message: `\`${f}\` must be true or false`, code: 'POLICY_INVALID' });
      }
      tmp.forEach(sub);
    }
  }
  const obligations = rule['obligations'];
  if (obligations !== undefined) {
    if (!Array.isArray(obligations) || obligations.some((o) => !isObject(o) || typeof o['type'] !== 'string' || o['type'] === '')) {
      sub({ path: [...at, 'obligations'], message: '`obligations` must be a list of mappings, each with a `type`', code: 'POLICY_INVALID' });
    } else if (effect === 'deny') {
      sub({ path: [...at, 'obligations'], message: 'a `deny` rule carries no obligations', code: 'POLICY_INVALID' });
    }
  }
}

export type { NativePolicy };
