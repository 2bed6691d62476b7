/**
 * Helpers shared by the format adapters: shape checks that report paths into the source
 * document, and the result type every adapter returns.
 */

import type { KillSwitchState, NativePolicy } from '../model.js';
import type { Problem } from '../native.js';

export interface Translation {
  policy: NativePolicy;
  killSwitch?: KillSwitchState;
}

export type TranslateResult = { ok: true; value: Translation } | { ok: false; problems: Problem[] };

export class Checker {
  readonly problems: Problem[] = [];

  fail(path: (string | number)[], message: string): void {
    this.problems.push({ path, message, code: 'POLICY_INVALID' });
  }

  fields(obj: Record<string, unknown>, allowed: readonly string[], path: (string | number)[], what: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown field \`${key}\` in ${what} (expected one of ${allowed.join(', ')})`);
    }
  }

  strings(v: unknown, path: (string | number)[], field: string): string[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      this.fail(path, `\`${field}\` must be a list of strings`);
      return [];
    }
    return v as string[];
  }

  bool(v: unknown, path: (string | number)[], field: string, fallback: boolean): boolean {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      this.fail(path, `\`${field}\` must be true or false`);
      return fallback;
    }
    return v;
  }

  result(policy: NativePolicy, killSwitch?: KillSwitchState): TranslateResult {
    if (this.problems.length > 0) return { ok: false, problems: this.problems };
    return { ok: true, value: killSwitch ? { policy, killSwitch } : { policy } };
  }
}

/** Environment names that mean the same stage. */
export const ENVIRONMENT_ALIASES: Readonly<Record<string, string[]>> = {
  prod: ['prod', 'production'],
  production: ['production', 'prod'],
  dev: ['dev', 'development'],
  development: ['development', 'dev'],
  staging: ['staging', 'stage'],
  stage: ['stage', 'staging'],
};

/** The canonical form of an environment name: trimmed and lower-cased (`" PROD "` → `prod`). */
export function normalizeEnvironment(name: string): string {
  return name.trim().toLowerCase();
}

export function environmentNames(name: string): string[] {
  const n = normalizeEnvironment(name);
  return ENVIRONMENT_ALIASES[n] ?? [n];
}

/** A CEL string literal for any text (quotes, backslashes, control and non-ASCII characters escaped). */
export function celString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    // `(` and `)` are escaped too, so a literal never looks like a `matches(` call to the
    // load-time pattern check.
    if (code >= 0x20 && code <= 0x7e && !'"\\()'.includes(ch)) out += ch;
    else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A condition that holds when the request names no environment (or only whitespace). */
export function environmentAbsent(): unknown {
  return { cel: 'environment == null || environment.trim() == ""' };
}

/**
 * A condition that holds when the request's environment, trimmed and lower-cased, is one of
 * the names `environmentNames(name)` gives (`PROD`, `Production`, `prod ` are all prod).
 * With `absent: true` it also holds when the request names no environment: a gate must
 * not be skipped by leaving the environment out.
 */
export function environmentIs(name: string, absent: boolean): unknown {
  const names = `[${environmentNames(name).map(celString).join(', ')}]`;
  const is = `environment != null && environment.trim().lowerAscii() in ${names}`;
  return { cel: absent ? `environment == null || environment.trim() == "" || (${is})` : is };
}
