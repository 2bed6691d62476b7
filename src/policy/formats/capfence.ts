/**
 * CapFence YAML (seed 001): top-level `deny`, `require_approval` and `allow` lists of
 * `{capability, contains}`. A capability is `<resource>.<action>` (`shell.execute`), and
 * may be a glob. `contains` is a case-sensitive substring of the command payload
 * (`args.command`, `args.cmd` or `args.script`; an argv list is joined with spaces first),
 * read so that it cannot be dodged:
 * - on a deny or require_approval entry it also matches when any simple command the shell
 *   analyzer found (dequoted: `cu""rl` is `curl`) contains it, joined as `argv…`;
 * - on an allow entry it holds only when the payload contains it AND every simple command
 *   found (chained, piped, substituted, inside `sh -c`) contains it, and the payload parsed,
 *   so `kubectl get pods; rm -rf ./data` is not allowed by `contains: "kubectl get"`.
 * Bastion's analyzers and baseline add what substring matching misses.
 */

import { API_VERSION, type NativeRule } from '../model.js';
import { celString, Checker, type TranslateResult } from './common.js';
import { isPlainObject } from '../../core/schema.js';

const POLICY_FIELDS = ['policy_name', 'name', 'version', 'description', 'deny', 'require_approval', 'allow'];
const LISTS = ['deny', 'require_approval', 'allow'] as const;
const PAYLOAD_FIELDS = ['args.command', 'args.cmd', 'args.script'];

/** The payload itself contains `text`: a string field, or an argv list joined with spaces. */
function payloadContains(text: string): unknown[] {
  return PAYLOAD_FIELDS.flatMap((field) => [{ field, contains: text }, { cel: `has(${field}) && type(${field}) == list && ${field}.join(" ").contains(${celString(text)})` }]);
}

/** Any analyzed simple command, dequoted and joined as `argv…`, contains `text`. */
function someCommandContains(text: string): unknown {
  return { cel: `has(analysis.commands) && analysis.commands.exists(c, c.argv.join(" ").contains(${celString(text)}))` };
}

function denyContains(text: string): unknown {
  return { any: [...payloadContains(text), someCommandContains(text)] };
}

function allowContains(text: string): unknown {
  // INVARIANT: an allow covers the whole payload, never one command of a chain.
  const every = `analysis.parsed == true && has(analysis.commands) && analysis.commands.size() > 0 && analysis.commands.all(c, c.argv.join(" ").contains(${celString(text)}))`;
  return { all: [{ any: payloadContains(text) }, { cel: every }] };
}

export function isCapFence(doc: unknown): boolean {
  return isPlainObject(doc) && doc['apiVersion'] === undefined && LISTS.some((k) => Array.isArray(doc[k]) && (doc[k] as unknown[]).some((e) => isPlainObject(e) && 'capability' in e));
}

export function translateCapFence(doc: Record<string, unknown>, fallbackName: string): TranslateResult {
  const c = new Checker();
  c.fields(doc, POLICY_FIELDS, [], 'a CapFence policy');
  const rules: NativeRule[] = [];
  for (const effect of LISTS) {
    const list = doc[effect];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      c.fail([effect], `\`${effect}\` must be a list of {capability, contains}`);
      continue;
    }
    list.forEach((entry, i) => {
      const at = [effect, i];
      if (!isPlainObject(entry)) return c.fail(at, 'an entry must be a mapping with `capability`');
      c.fields(entry, ['capability', 'contains'], at, 'a CapFence entry');
      const capability = entry['capability'];
      const contains = entry['contains'];
      if (typeof capability !== 'string' || capability === '') return c.fail([...at, 'capability'], '`capability` must be a non-empty string such as `shell.execute`');
      if (contains !== undefined && (typeof contains !== 'string' || contains === '')) return c.fail([...at, 'contains'], '`contains` must be a non-empty string');
      const what = contains === undefined ? capability : `${capability} contains "${contains}"`;
      const verb = effect === 'deny' ? 'denied' : effect === 'allow' ? 'allowed' : 'approval required';
      const rule: NativeRule = {
        id: `${effect}-${i + 1}`,
        effect,
        description: `CapFence ${effect}: ${what}`,
        reason: `${verb}: ${what}`,
        actions: [capability],
      };
      if (contains !== undefined) rule.when = [effect === 'allow' ? allowContains(contains) : denyContains(contains)];
      rules.push(rule);
    });
  }
  const name = typeof doc['policy_name'] === 'string' ? doc['policy_name'] : typeof doc['name'] === 'string' ? doc['name'] : fallbackName;
  const policy = { apiVersion: API_VERSION, name, ...(typeof doc['description'] === 'string' ? { description: doc['description'] } : {}), rules };
  return c.result(policy);
}
