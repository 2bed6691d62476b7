/**
 * Programs the analyzer does not know: secret files among the arguments, downloaded or
 * dropped binaries, and shells or code handed to them still count.
 */

import { embeddedShell, scanCode } from '../inline-code.js';
import type { Invocation, ProgramRule, Site } from '../shell-types.js';
import { egress, ev, readFiles } from './effects.js';

/** Programs that only inspect a file, even a shell binary. */
const INSPECTORS = /^(ldd|readelf|objdump|nm|size|file|stat|sha\d*sum|md5sum|chsh|update-alternatives|ls|dpkg-query|rpm|getcap|namei|lsattr|shellcheck|shfmt|checkbashisms)$/;

/** A shell as a word of its own, or after `=`, `,`, `!`, `;` (`/bin/sh`, `-f /bin/bash`, `exec=/bin/sh`, `'!sh'`). */
const SHELL_WORD = /(?:^|[\s=,;:!'"(])(?:\/usr)?(?:\/bin\/)(?:ba|da|z|k|c|tc|a|fi|mk)?sh(?=$|[\s,;'")])|^!\s*(?:ba|da|z)?sh\b/;

/**
 * An unknown program handed a shell (`setarch x86_64 /bin/sh`, `gdb -ex '!sh'`,
 * `cpulimit -f /bin/sh`) or code that runs commands (`jrunscript -e "exec('…')"`): it runs it.
 */
function handsOverShell(inv: Invocation, site: Site): void {
  if (INSPECTORS.test(inv.name)) return;
  for (const a of inv.argv.slice(1)) {
    if (!a.literal) continue;
    if (SHELL_WORD.test(a.value)) {
      site.add('exec.obfuscated', 'high', ev(inv, `${inv.name} is handed a shell to run`));
      return;
    }
    if (a.value.length > 6 && /[("'`]/.test(a.value) && scanCode(a.value).some((f) => f.category === 'exec.interpreter')) {
      site.add('exec.interpreter', 'high', ev(inv, `${inv.name} is handed code that runs commands`));
      for (const cmd of embeddedShell(a.value)) site.shell(cmd, { ...inv, stdin: undefined });
      return;
    }
  }
}

/**
 * Programs the analyzer does not know: no category of their own, but secret files among the
 * arguments and downloaded scripts still count.
 */
export const unknownProgram: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const read = readFiles(
    args.filter((a) => a.literal && !a.value.startsWith('-')),
    inv,
    site,
    'medium',
  );
  const program = inv.argv[0];
  const downloaded = program !== undefined && program.literal ? site.downloadedWhen(program.value) : undefined;
  if (program !== undefined && downloaded !== undefined) site.add('exec.remote_code', 'critical', ev(inv, `runs ${program.value}, downloaded ${downloaded}`));
  else if (program !== undefined && program.literal && program.value.includes('/')) {
    // Binaries run straight out of world-writable directories are how droppers start.
    const where = site.touch(program.value, 'read');
    if (/^\/(tmp|var\/tmp|dev\/shm|run\/user\/\d+)\//.test(where) && site.scriptText(program.value) === undefined) {
      site.add('exec.obfuscated', 'high', ev(inv, `runs ${where} from a world-writable directory`));
    }
  }
  for (const a of args) {
    if (a.literal && /^\/dev\/(tcp|udp)\//.test(a.value)) egress(a.value.split('/')[3] ?? '', inv, site, true, inv.name);
  }
  handsOverShell(inv, site);
  // `tool sh -c '…'`, `runner rm -rf /etc`: a program the analyzer does not know may run the
  // command line it is handed, so what that command line would do counts (fail closed).
  if (!INSPECTORS.test(inv.name)) for (const f of site.commandIn(args)) site.add(f.category, f.risk, `${f.evidence} (handed to ${inv.name}, which the analyzer does not know)`);
  if (!(inv.argv[0]?.literal ?? true)) {
    const targets = args.filter((a) => !a.value.startsWith('-'));
    if (targets.some((t) => t.literal && (site.zone(t) === 'system' || site.zone(t) === 'home'))) site.add('exec.obfuscated', 'critical', ev(inv, 'unknown program aimed at system paths'));
  }
  return read;
};
