/**
 * Validates an action request arriving from outside (a JSON body, a file, stdin). Unknown
 * fields are rejected: a misspelt `enviroment` must not silently skip an environment gate.
 */

import { bastionError, quote, type BastionError } from '../errors/index.js';
import type { Result } from './result.js';
import { isRisk } from './risk.js';
import type { ActionRequest, Principal } from './types.js';

const REQUEST_FIELDS = ['principal', 'action', 'resource', 'environment', 'args', 'context', 'risk', 'approvalId', 'traceId'];
const PRINCIPAL_FIELDS = ['id', 'groups', 'deviceCompliant', 'attributes'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a raw value is a well-formed action request and returns it typed.
 *
 * @example validateRequest(JSON.parse(body)) // { ok: true, value: {...} } or { ok: false, errors }
 */
export function validateRequest(raw: unknown, where = 'request'): Result<ActionRequest, BastionError> {
  const errors: BastionError[] = [];
  const err = (field: string, message: string) => errors.push(bastionError('REQUEST_INVALID', `${where}: field ${quote(field)}: ${message}`, { field }));
  if (!isObject(raw)) return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: an action request must be a JSON object`)] };
  for (const key of Object.keys(raw)) if (!REQUEST_FIELDS.includes(key)) err(key, `unknown field (expected one of ${REQUEST_FIELDS.join(', ')})`);

  const p = raw['principal'];
  let principal: Principal | undefined;
  if (!isObject(p)) err('principal', 'is required: an object with `id` and `groups`');
  else {
    for (const key of Object.keys(p)) if (!PRINCIPAL_FIELDS.includes(key)) err(`principal.${key}`, `unknown field (expected one of ${PRINCIPAL_FIELDS.join(', ')})`);
    if (typeof p['id'] !== 'string' || p['id'] === '') err('principal.id', 'must be a non-empty string');
    const groups = p['groups'] ?? [];
    if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) err('principal.groups', 'must be a list of strings');
    if (p['deviceCompliant'] !== undefined && typeof p['deviceCompliant'] !== 'boolean') err('principal.deviceCompliant', 'must be true or false');
    if (p['attributes'] !== undefined && !isObject(p['attributes'])) err('principal.attributes', 'must be an object');
    principal = { id: p['id'] as string, groups: groups as string[] };
    if (typeof p['deviceCompliant'] === 'boolean') principal.deviceCompliant = p['deviceCompliant'];
    if (isObject(p['attributes'])) principal.attributes = p['attributes'];
  }
  if (typeof raw['action'] !== 'string' || raw['action'] === '') err('action', 'is required: a non-empty string such as `shell.execute`');
  for (const f of ['resource', 'environment', 'approvalId', 'traceId']) {
    if (raw[f] !== undefined && (typeof raw[f] !== 'string' || raw[f] === '')) err(f, 'must be a non-empty string');
  }
  for (const f of ['args', 'context']) if (raw[f] !== undefined && !isObject(raw[f])) err(f, 'must be an object');
  if (raw['risk'] !== undefined && !isRisk(raw['risk'])) err('risk', `unknown risk ${quote(raw['risk'])} (expected low, medium, high or critical)`);
  const ctx = raw['context'];
  if (isObject(ctx)) {
    for (const f of ['danger_level', 'risk']) {
      if (ctx[f] !== undefined && !isRisk(ctx[f])) err(`context.${f}`, `unknown risk ${quote(ctx[f])} (expected low, medium, high or critical)`);
    }
  }
  if (errors.length > 0 || principal === undefined) return { ok: false, errors };
  const request: ActionRequest = { principal, action: raw['action'] as string };
  for (const f of ['resource', 'environment', 'approvalId', 'traceId'] as const) if (typeof raw[f] === 'string') request[f] = raw[f] as string;
  if (isObject(raw['args'])) request.args = raw['args'];
  if (isObject(raw['context'])) request.context = raw['context'];
  if (isRisk(raw['risk'])) request.risk = raw['risk'];
  return { ok: true, value: request };
}
