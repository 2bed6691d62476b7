/**
 * The body of `PUT /v1/kill-switch`: the kill-switch keys to change, checked strictly. A
 * misspelt key must be an error, never a switch silently left off.
 */

import type { Result } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { isPlainObject } from '../core/schema.js';
import type { KillSwitchState } from './state.js';

const BOOLEAN_FIELDS = ['all_write_tools_disabled', 'read_only_mode'] as const;
const LIST_FIELDS = ['disabled_connectors', 'disabled_users', 'disabled_workflows'] as const;
const FIELDS: readonly string[] = [...BOOLEAN_FIELDS, ...LIST_FIELDS, 'reason'];
/** Bounds that keep one request from making the state (and every audit event of it) huge. */
const MAX_LIST = 10_000;
const MAX_STRING = 1024;

/**
 * Checks a parsed JSON body and returns the change it asks for; fields left out keep their
 * value, so `{"read_only_mode": true}` changes one switch.
 *
 * @example parseKillSwitchChange({ read_only_mode: true }) // { ok: true, value: { read_only_mode: true } }
 */
export function parseKillSwitchChange(raw: unknown, where = 'request body'): Result<Partial<KillSwitchState>, BastionError> {
  if (!isPlainObject(raw)) return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: a kill-switch change must be a JSON object with one or more of ${FIELDS.join(', ')}`)] };
  const errors: BastionError[] = [];
  const err = (field: string, message: string) => errors.push(bastionError('REQUEST_INVALID', `${where}: field ${quote(field)}: ${message}`, { field }));
  const change: Partial<KillSwitchState> = {};
  for (const key of Object.keys(raw)) if (!FIELDS.includes(key)) err(key, `unknown field (expected one of ${FIELDS.join(', ')})`);
  for (const f of BOOLEAN_FIELDS) {
    const v = raw[f];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') err(f, `must be true or false, got ${quote(v)}`);
    else change[f] = v;
  }
  for (const f of LIST_FIELDS) {
    const v = raw[f];
    if (v === undefined) continue;
    if (!Array.isArray(v)) err(f, `must be a list of names, got ${quote(v)}`);
    else if (v.length > MAX_LIST) err(f, `holds ${v.length} names (at most ${MAX_LIST})`);
    else {
      const bad = v.findIndex((s) => typeof s !== 'string' || s === '' || s.length > MAX_STRING);
      if (bad >= 0) err(`${f}[${bad}]`, `must be a non-empty string of at most ${MAX_STRING} characters, got ${quote(v[bad])}`);
      else change[f] = [...new Set(v as string[])];
    }
  }
  const reason = raw['reason'];
  if (reason !== undefined) {
    if (typeof reason !== 'string' || reason.length > MAX_STRING) err('reason', `must be a string of at most ${MAX_STRING} characters, got ${quote(reason)}`);
    else change.reason = reason;
  }
  if (errors.length > 0) return { ok: false, errors };
  if (Object.keys(change).length === 0) return { ok: false, errors: [bastionError('REQUEST_INVALID', `${where}: changes nothing: give one or more of ${FIELDS.join(', ')}`)] };
  return { ok: true, value: change };
}
