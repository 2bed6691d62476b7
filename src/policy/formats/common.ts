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

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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

export function environmentNames(name: string): string[] {
  return ENVIRONMENT_ALIASES[name] ?? [name];
}
