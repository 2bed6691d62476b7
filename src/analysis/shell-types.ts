/**
 * The shapes shared by the shell walker (shell-analyzer.ts) and the per-program rules
 * (programs/): a resolved argument, one invocation of a program, and the site a
 * rule reports its findings to.
 */

import type { Category } from '../core/categories.js';
import type { Risk } from '../core/risk.js';
import type { HostClass } from '../core/net.js';
import type { PathZone } from './risk-table.js';
import type { SubOutput } from './shell-words.js';
import type { ShellFinding } from './shell-analyzer.js';

/** One argument after word resolution (brace expansion may turn a word into several). */
export interface Arg {
  value: string;
  literal: boolean;
  glob: boolean;
  raw: string;
  subs: SubOutput[];
  unknownVars: string[];
  /** The bash glob pattern of this value (quoted metacharacters escaped), when `glob`. */
  pattern?: string;
}

/** One program run, with what feeds its stdin and whether its stdout is piped on. */
export interface Invocation {
  /** argv[0] is the program as written. */
  argv: Arg[];
  /** Basename of argv[0]. */
  name: string;
  /** The source text, used as evidence. */
  text: string;
  stdin: SubOutput | undefined;
  piped: boolean;
  /** Environment assignments written before the command (`HOME=/ cmd`). */
  env: Record<string, string>;
  /** Set when the command runs on another machine (ssh, docker exec …). */
  remote?: string;
  /** Set when one of the command's file descriptors is a raw socket (`>& /dev/tcp/host/port`): the host. */
  socket?: string;
}

/** What a program rule can do: report findings, touch paths and hosts, recurse. */
export interface Site {
  readonly home: string;
  readonly cwd: string | undefined;
  add(category: Category, risk: Risk, evidence: string): void;
  /** Reports something the analyzer will not model: `parsed: false`, at least high. */
  failClosed(evidence: string): void;
  /** Records a path the command touches and returns it resolved against the cwd. */
  touch(path: string, access: 'read' | 'write' | 'delete'): string;
  /** The zone of a path, `unknown` when the argument is not literal. */
  zone(arg: Arg | string): PathZone;
  /** Records an egress destination and returns its class. */
  host(host: string): HostClass;
  /** Analyzes shell source found inside the command (sh -c, eval, ssh host '…'). */
  shell(source: string, inv: Invocation): SubOutput;
  /** Analyzes an inner argv (sudo, xargs, find -exec, docker exec …). */
  run(argv: Arg[], inv: Invocation, stdin?: SubOutput): SubOutput;
  /** Changes the working directory for the commands that follow. */
  chdir(arg: Arg | undefined): void;
  /** Remembers a file saved from the network, so running it later is remote code. */
  /**
   * The high and critical findings of the command line handed to a program the analyzer does
   * not know, analyzed on its own: a known program right after `--`, or a shell given `-c`;
   * none when there is no such command line or the bound is reached.
   */
  commandIn(args: Arg[]): ShellFinding[];
  markDownloaded(path: string): void;
  /** When the file was downloaded: earlier in the command line, by an earlier call of the trace, or not. */
  downloadedWhen(path: string): 'earlier' | 'by an earlier call of this trace' | undefined;
  /**
   * Remembers that `dest` now holds the program `source` (cp, ln, install, mv, dd, `cat prog >`),
   * so running `dest` later in the same command line is analyzed as `source`.
   */
  markCopy(dest: string, source: string): void;
  /** New contents were written to `path`: what was known about the file no longer holds. */
  forget(path: string): void;
  /** Remembers the exact text written to a file, so running it as a script is analyzed. */
  markScript(path: string, text: string): void;
  /** The script text written to `path` earlier in this command line, if known. */
  scriptText(path: string): string | undefined;
}

export type ProgramRule = (inv: Invocation, site: Site) => SubOutput;

/** A literal argument made from a plain string (for synthesized argv). */
export function lit(value: string): Arg {
  return { value, literal: true, glob: false, raw: value, subs: [], unknownVars: [] };
}
