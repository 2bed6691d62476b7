/**
 * Archives and compression: tar, zip, and compressors that replace their file.
 */

import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import { classifyWrite, ev, readFiles } from './effects.js';
import type { ProgramFamily } from './family.js';

const tarRule: ProgramRule = (inv, site) => {
  for (const a of inv.argv.slice(1)) {
    const m = /^--(checkpoint-action=exec|to-command|use-compress-program|rsh-command|info-script|new-volume-script)=(.*)$/s.exec(a.value);
    if (m !== null) {
      site.add('exec.obfuscated', 'high', ev(inv, `tar --${(m[1] ?? '').split('=')[0]} runs a program`));
      site.shell(m[2] ?? '', { ...inv, stdin: undefined });
    }
  }
  const i = inv.argv.findIndex((a) => a.value === '-I' || a.value === '--use-compress-program' || a.value === '--to-command');
  if (i > 0 && inv.argv[i + 1] !== undefined && !/^(gzip|pigz|zstd|xz|bzip2|lz4)( |$)/.test(inv.argv[i + 1]?.value ?? '')) {
    site.add('exec.obfuscated', 'high', ev(inv, `tar ${inv.argv[i]?.value} runs a program`));
    site.shell(inv.argv[i + 1]?.value ?? '', { ...inv, stdin: undefined });
  }
  const first = inv.argv[1]?.value ?? '';
  const extracting = /^-?[a-zA-Z]*x/.test(first) || inv.argv.some((a) => a.value === '--extract' || a.value === '--get');
  const cIdx = inv.argv.findIndex((a) => a.value === '-C' || a.value === '--directory');
  if (extracting) {
    const dir = cIdx > 0 ? inv.argv[cIdx + 1] : lit('.');
    if (dir !== undefined) classifyWrite(dir, site, inv.text);
    if (inv.argv.some((a) => a.value === '-P' || a.value === '--absolute-names')) site.add('fs.write', 'high', ev(inv, 'extracts absolute paths'));
    return {};
  }
  const creating = /^-?[a-zA-Z]*[cruA]/.test(first) || inv.argv.some((a) => /^--(create|append|update|catenate|concatenate|delete)$/.test(a.value));
  if (creating) {
    const archive = tarArchive(inv.argv.slice(1));
    if (archive !== undefined && archive.value !== '-') classifyWrite(archive, site, inv.text);
  }
  const files = inv.argv.slice(2).filter((a) => !a.value.startsWith('-'));
  return readFiles(files, inv, site);
};

/** The `-f` archive of a tar command line (`tar czf out.tgz …`, `-f out.tar`, `--file=out.tar`). */
function tarArchive(args: Arg[]): Arg | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as Arg;
    if (a.value.startsWith('--file=')) return { ...a, value: a.value.slice(7) };
    if (a.value === '--file' || a.value === '-f') return args[i + 1];
    if ((i === 0 && /^-?[a-zA-Z]*f[a-zA-Z]*$/.test(a.value)) || /^-[a-zA-Z]*f$/.test(a.value)) return args[i + 1];
  }
  return undefined;
}

const zipRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const tt = args.findIndex((a) => a.value === '-TT' || a.value.startsWith('--unzip-command'));
  if (tt >= 0) site.add('exec.obfuscated', 'high', ev(inv, 'zip -TT runs a program'));
  if (inv.name === 'unzip') {
    if (args.some((a) => /^-[a-zA-Z]*[lptvZ]/.test(a.value))) return {};
    const d = args.findIndex((a) => a.value === '-d');
    const dir = d >= 0 ? args[d + 1] : lit('.');
    if (dir !== undefined) classifyWrite(dir, site, inv.text);
    return {};
  }
  const operands = args.filter((a) => !a.value.startsWith('-'));
  if (operands[0] !== undefined) classifyWrite(operands[0], site, inv.text);
  return readFiles(operands.slice(1), inv, site);
};

/** gzip file, xz file, gunzip file.gz …: the file is replaced by its (de)compressed form. */
export function compressesInPlace(inv: Invocation, site: Site): void {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^-[a-zA-Z0-9]*[ctl]|^--(stdout|to-stdout|test|list)$/.test(v))) return;
  for (const f of inv.argv.slice(1).filter((a) => !a.value.startsWith('-'))) classifyWrite(f, site, inv.text);
}

/** Archivers: extraction writes a tree, creation writes the archive. */
export const ARCHIVE_PROGRAMS: ProgramFamily = {
  title: 'Archives',
  rules: [
    ['tar', tarRule],
    ['zip unzip', zipRule],
  ],
};
