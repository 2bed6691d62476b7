/**
 * The table of program rules: every family's programs by name, and the lookups the shell
 * walker uses (`ruleFor`, `isKnownProgram`, `globCandidates`).
 */

import { compileGlob } from '../../core/glob.js';
import type { ProgramRule } from '../shell-types.js';
import { ARCHIVE_PROGRAMS } from './archives.js';
import { CLOUD_PROGRAMS } from './cloud.js';
import { CONTAINER_PROGRAMS } from './containers.js';
import { DATABASE_PROGRAMS } from './databases.js';
import type { ProgramFamily } from './family.js';
import { FILE_PROGRAMS } from './files.js';
import { GIT_PROGRAMS } from './git.js';
import { INTERPRETER_PROGRAMS, interpreterFamily, interpreterRule } from './interpreters.js';
import { NETWORK_PROGRAMS } from './network.js';
import { PACKAGE_PROGRAMS } from './packages.js';
import { SHELL_PROGRAMS } from './shells.js';
import { diskRule, SYSTEM_PROGRAMS } from './system.js';
import { TEXT_PROGRAMS } from './text.js';
import { unknownProgram } from './unknown.js';
import { WRAPPER_PROGRAMS } from './wrappers.js';

/** Every family, in the order docs/analysis.md lists them. */
export const PROGRAM_FAMILIES: readonly ProgramFamily[] = [
  SHELL_PROGRAMS,
  WRAPPER_PROGRAMS,
  INTERPRETER_PROGRAMS,
  FILE_PROGRAMS,
  TEXT_PROGRAMS,
  ARCHIVE_PROGRAMS,
  NETWORK_PROGRAMS,
  GIT_PROGRAMS,
  CONTAINER_PROGRAMS,
  CLOUD_PROGRAMS,
  PACKAGE_PROGRAMS,
  DATABASE_PROGRAMS,
  SYSTEM_PROGRAMS,
];

const RULES = new Map<string, ProgramRule>();
for (const family of PROGRAM_FAMILIES) {
  for (const [names, rule] of family.rules) {
    for (const name of names.split(/\s+/)) {
      // INVARIANT: a program name has one rule; a second registration would silently win.
      if (RULES.has(name)) throw new Error(`program \`${name}\` is registered twice`);
      if (name !== '') RULES.set(name, rule);
    }
  }
}

/** The program names with a rule of their own, in registration order. */
export function registeredPrograms(): string[] {
  return [...RULES.keys()];
}

/**
 * Whether the analyzer models a program (a basename): what it does is then known, so a
 * command of it with no write category is a read. Read-only mode counts a program the
 * analyzer does not know (`./deploy.sh`, `pytest`, an interpreter running a script file) as a
 * write.
 */
export function isKnownProgram(name: string): boolean {
  // An interpreter running a script file (`python3 app.py`) does whatever the file says.
  const rule = RULES.get(name);
  if (rule === undefined) return /^mkfs\./.test(name);
  return rule !== interpreterRule;
}

/** The rule for a program name (a basename); unknown programs get the generic rule. */
export function ruleFor(name: string): ProgramRule {
  const direct = RULES.get(name);
  if (direct !== undefined) return direct;
  if (interpreterFamily(name) !== undefined) return interpreterRule;
  if (/^mkfs\./.test(name)) return diskRule;
  return unknownProgram;
}

/** Versioned and common names a command glob may resolve to, beyond the rule table. */
const EXTRA_PROGRAMS = [
  'python3.6',
  'python3.7',
  'python3.8',
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'perl5',
  'php7',
  'php8',
  'ruby3',
  'lua5.1',
  'lua5.3',
  'lua5.4',
  'nodejs',
  'busybox',
  'ls',
  'ln',
  'cp',
  'mv',
];
let knownPrograms: string[] | undefined;

/**
 * The known programs a command-name glob (basename part, bash syntax with `\` escapes)
 * can match: `r?` → `rg`, `rm`; `ba[s]h` → `bash`. A pattern without metacharacters is its
 * own single candidate. Matching runs on short names only, so it stays cheap.
 *
 * @example globCandidates('r?') // ['rg', 'rm']
 */
export function globCandidates(pattern: string): string[] {
  // No file name is longer than 255 bytes; a longer pattern names no known program.
  if (pattern.length > 512) return [];
  // The policy glob matcher: linear time (a RegExp of `**…*x` backtracks for minutes), and
  // on basenames its `*` and bash's agree, as neither side holds a `/`.
  const glob = compileGlob(pattern);
  // A malformed class (`r[m`) is literal text to bash, naming no program the analyzer knows.
  if (!glob.ok) return [];
  if (glob.literal !== undefined) return [glob.literal];
  knownPrograms ??= [...new Set([...RULES.keys(), ...EXTRA_PROGRAMS])].sort();
  return knownPrograms.filter((name) => glob.test(name));
}
