/**
 * Option parsing shared by the program rules: getopt-style flags, values and operands.
 */

import type { Arg } from '../shell-types.js';

export interface Opts {
  flags: Map<string, Arg | true>;
  operands: Arg[];
  /** Index in argv (after argv[0]) where operands began when stopAtOperand is set. */
  rest: Arg[];
}

/**
 * Parses getopt-style options. `valued` lists short letters taking a value; `longValued`
 * long names (without `--`) taking one. With `stopAtOperand`, parsing ends at the first
 * operand and everything from there is `rest` (for wrappers).
 */
export function opts(args: Arg[], valued = '', longValued: readonly string[] = [], stopAtOperand = false): Opts {
  const flags = new Map<string, Arg | true>();
  const operands: Arg[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    const v = a.value;
    if (v === '--') {
      const rest = args.slice(i + 1);
      return { flags, operands: operands.concat(rest), rest };
    }
    if (v.startsWith('--') && v.length > 2) {
      const eq = v.indexOf('=');
      const name = eq > 0 ? v.slice(2, eq) : v.slice(2);
      if (eq > 0) flags.set(name, { ...a, value: v.slice(eq + 1) });
      else if (longValued.includes(name) && i + 1 < args.length) flags.set(name, args[++i] as Arg);
      else flags.set(name, true);
      continue;
    }
    if (v.startsWith('-') && v.length > 1 && !/^-\d+$/.test(v)) {
      for (let j = 1; j < v.length; j++) {
        const c = v[j] as string;
        if (valued.includes(c)) {
          const inline = v.slice(j + 1);
          if (inline !== '') flags.set(c, { ...a, value: inline });
          else if (i + 1 < args.length) flags.set(c, args[++i] as Arg);
          break;
        }
        flags.set(c, true);
      }
      continue;
    }
    if (stopAtOperand) {
      const rest = args.slice(i);
      return { flags, operands: rest, rest };
    }
    operands.push(a);
  }
  return { flags, operands, rest: [] };
}

export function has(o: Opts, ...names: string[]): boolean {
  return names.some((n) => o.flags.has(n));
}

export function val(o: Opts, ...names: string[]): Arg | undefined {
  for (const n of names) {
    const v = o.flags.get(n);
    if (v !== undefined && v !== true) return v;
  }
  return undefined;
}
