/**
 * What each program does, in the canonical categories: one rule per program (or family),
 * reading its options the way the program does, one module per family of programs. Wrappers
 * (`sudo`, `env`, `timeout`, `xargs` …) hand their inner command back to the walker
 * (shell-analyzer.ts); shells, `eval`, `ssh host '…'` and `find -exec` recurse. Risk levels
 * come from risk-table.ts. This file is what the rest of src/analysis uses.
 */

export { classifyWrite, readRedirect } from './effects.js';
export { isBareShell } from './shells.js';
export { envHooks } from './wrappers.js';
export { unknownProgram } from './unknown.js';
export { globCandidates, isKnownProgram, PROGRAM_FAMILIES, registeredPrograms, ruleFor } from './registry.js';
export type { ProgramFamily } from './family.js';
