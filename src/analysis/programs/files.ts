/**
 * Deleting, writing, copying and changing the permissions of files.
 */

import { posix } from 'node:path';
import { maxRisk, type Risk } from '../../core/risk.js';
import { isBlockDevice, isSecretPath, sensitiveWriteTarget } from '../path-classes.js';
import { deleteRisk } from '../risk-table.js';
import { type Arg, lit, type ProgramRule, type Site } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { classifyWrite, deleteTargets, egress, ev, readFiles } from './effects.js';
import type { ProgramFamily } from './family.js';
import { has, opts, val } from './options.js';
import { isBareShell } from './shells.js';

const rmRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  const recursive = has(o, 'r', 'R', 'recursive');
  if (has(o, 'no-preserve-root')) site.add('fs.delete', 'critical', ev(inv, 'rm --no-preserve-root'));
  const how = recursive ? (has(o, 'f', 'force') ? 'recursive forced delete of' : 'recursive delete of') : 'delete of';
  deleteTargets(o.operands, recursive, inv, site, how);
  return {};
};

const rmdirRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  for (const t of o.operands) {
    const zone = site.zone(t);
    site.add('fs.delete', zone === 'workspace' || zone === 'temp' ? 'low' : 'medium', ev(inv, `removes empty directory ${t.value}`));
  }
  return {};
};

const shredRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'nsx', ['iterations', 'size', 'random-source']);
  // shred has no -r; srm and wipe delete whole trees with it.
  const recursive = inv.name !== 'shred' && has(o, 'r', 'R', 'recursive');
  for (const t of o.operands) {
    const path = t.literal ? site.touch(t.value, 'delete') : t.raw;
    if (t.literal && isBlockDevice(path)) site.add('disk.wipe', 'critical', ev(inv, `shreds device ${path}`));
    else site.add('fs.delete', maxRisk('high', deleteRisk(site.zone(t), recursive)), ev(inv, `shreds ${path}`));
  }
  return {};
};

const ddRule: ProgramRule = (inv, site) => {
  let out: SubOutput = inv.stdin ?? {};
  let input: Arg | undefined;
  let output: Arg | undefined;
  for (const a of inv.argv.slice(1)) {
    const m = /^(if|of)=(.*)$/.exec(a.value);
    if (m === null) continue;
    const file = { ...a, value: m[2] as string };
    if (m[1] === 'of') {
      classifyWrite(file, site, inv.text);
      output = file;
    } else {
      out = readFiles([file], inv, site);
      input = file;
    }
  }
  if (input !== undefined && output !== undefined && input.literal && output.literal) site.markCopy(output.value, input.value);
  else if (input !== undefined && input.literal && output === undefined) out = { ...out, program: input.value };
  return out;
};

const chmodRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  const recursive = has(o, 'R', 'recursive');
  const [mode, ...files] = o.operands;
  if (mode === undefined) return {};
  const m = mode.value;
  if ((/^[0-7]*[4-7][0-7]{3}$/.test(m) && m.length === 4 && /^[2467]/.test(m)) || /[ug]?\+[rwx]*s|^[ug]*=.*s/.test(m)) {
    site.add('priv.escalate', 'critical', ev(inv, `sets the setuid/setgid bit (${m})`));
  }
  const worldWritable = /^0?[0-7]?[0-7][0-7][2367]$/.test(m) || (/(^|,)[oa]*[+=][rx]*w/.test(m) && /[oa]/.test(m.split(/[+=]/)[0] ?? '')) || m === '+w';
  for (const f of files) {
    const zone = site.zone(f);
    const path = f.literal ? site.touch(f.value, 'write') : f.raw;
    const sensitive = f.literal ? sensitiveWriteTarget(path, site.home) : undefined;
    let risk: Risk = 'low';
    if (worldWritable) risk = 'medium';
    if (recursive && (zone === 'system' || zone === 'home' || zone === 'outside')) risk = 'critical';
    else if (zone === 'system' || zone === 'home') risk = maxRisk(risk, worldWritable ? 'high' : 'medium');
    const restrictive = /^0?[0-7]?[0-7]00$/.test(m) || (/^[ugoa]*-[rwxXst]+$/.test(m) && !m.startsWith('u'));
    if (sensitive !== undefined && restrictive) {
      site.add('fs.write', 'low', ev(inv, `restricts permissions of ${path}`));
      continue;
    }
    if (sensitive !== undefined) {
      site.add('fs.write_sensitive', worldWritable || recursive ? 'critical' : 'high', ev(inv, `changes permissions of ${sensitive.what} ${path}`));
      continue;
    }
    site.add('fs.write', risk, ev(inv, `chmod ${m} ${path}`));
  }
  return {};
};

const chownRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), '', ['reference', 'from']);
  const recursive = has(o, 'R', 'recursive');
  const files = o.operands.slice(1);
  for (const f of files) {
    const zone = site.zone(f);
    const path = f.literal ? site.touch(f.value, 'write') : f.raw;
    const risk: Risk = recursive && (zone === 'system' || zone === 'home') ? 'critical' : zone === 'system' ? 'high' : 'low';
    site.add(zone === 'system' ? 'fs.write_sensitive' : 'fs.write', risk, ev(inv, `changes owner of ${path}`));
  }
  return {};
};

const copyRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'tSm', ['target-directory', 'suffix', 'mode', 'backup']);
  const target = val(o, 't', 'target-directory');
  const sources = target !== undefined ? o.operands : o.operands.slice(0, -1);
  const dest = target ?? o.operands.at(-1);
  if (inv.name === 'ln') {
    const linkTo = o.operands[0];
    if (linkTo !== undefined && linkTo.literal && (isSecretPath(linkTo.value) || sensitiveWriteTarget(linkTo.value, site.home) !== undefined)) {
      site.add('secret.read', 'medium', ev(inv, `links to sensitive path ${linkTo.value}`));
    }
    if (dest !== undefined && o.operands.length > 1) classifyWrite(dest, site, inv.text);
    if (linkTo?.value === '/dev/null' && dest !== undefined && /(^|\/)\.(\w+_history|histfile|lesshst|viminfo)$/.test(dest.value)) {
      site.add('fs.delete', 'high', ev(inv, 'sends the shell history to /dev/null'));
    }
    const linked = o.operands.length === 1 && linkTo !== undefined ? { ...linkTo, value: posix.basename(linkTo.value) } : dest;
    markCopies(o.operands.length === 1 ? o.operands : sources, linked, target !== undefined, site);
    return {};
  }
  const read = readFiles(sources, inv, site);
  if (inv.name === 'mv') {
    for (const s of sources) {
      const zone = site.zone(s);
      if (zone === 'system' || zone === 'home') site.add('fs.delete', 'high', ev(inv, `moves away ${s.value}`));
    }
  }
  if (inv.name === 'install') {
    const mode = val(o, 'm', 'mode')?.value ?? '';
    if (/^[2467][0-7]{3}$/.test(mode) || /s/.test(mode)) site.add('priv.escalate', 'critical', ev(inv, `installs a setuid file (${mode})`));
  }
  if (dest !== undefined) {
    if (dest.value === '/dev/null' && inv.name === 'mv') deleteTargets(sources, true, inv, site, 'moves to /dev/null');
    else classifyWrite(dest, site, inv.text);
  }
  markCopies(sources, dest, target !== undefined, site);
  return read;
};

/**
 * A copied, moved, installed or linked file keeps its identity under the new name:
 * `cp /bin/sh /tmp/x` makes `/tmp/x` a shell for the rest of the command line. The
 * destination may be a directory, so both `dest` and `dest/<basename>` are remembered.
 */
function markCopies(sources: Arg[], dest: Arg | undefined, intoDirectory: boolean, site: Site): void {
  if (dest === undefined || !dest.literal || sources.length === 0) return;
  for (const src of sources) {
    if (!src.literal || src.glob) continue;
    const base = posix.basename(src.value);
    site.markCopy(dest.value.replace(/\/+$/, '') + '/' + base, src.value);
    if (sources.length === 1 && !intoDirectory && !dest.value.endsWith('/')) site.markCopy(dest.value, src.value);
  }
}

const teeRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1));
  const append = has(o, 'a', 'append');
  for (const f of o.operands) {
    if (f.literal && /^\/dev\/(tcp|udp)\//.test(f.value)) {
      egress(f.value.split('/')[3] ?? '', inv, site, true, 'tee to a raw socket', inv.stdin?.secret === true);
      continue;
    }
    classifyWrite(f, site, inv.text, !append);
    const text = inv.stdin?.text;
    if (f.literal && !append && text !== undefined) site.markScript(f.value, text);
    if (f.literal && !append && inv.stdin?.program !== undefined) site.markCopy(f.value, inv.stdin.program);
  }
  return inv.stdin ?? {};
};

const truncateRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'sr', ['size', 'reference']);
  for (const f of o.operands) classifyWrite(f, site, inv.text, true);
  return {};
};

/** Programs that create or change the files named as operands (touch, mkdir, mkfifo …). */
function createsOperands(valued: string, longValued: readonly string[] = []): ProgramRule {
  return (inv, site) => {
    const o = opts(inv.argv.slice(1), valued, longValued);
    const files = inv.name === 'mknod' ? o.operands.slice(0, 1) : o.operands;
    for (const f of files) classifyWrite(f, site, inv.text);
    return {};
  };
}

const mktempRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'pt', ['tmpdir', 'suffix']);
  if (has(o, 'u', 'dry-run')) return {};
  const dir = val(o, 'p', 'tmpdir');
  if (dir !== undefined) classifyWrite(dir, site, inv.text);
  else site.add('fs.write', 'low', ev(inv, 'creates a temporary file'));
  return {};
};

const patchRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'pdoiBrFVYzDg', [
    'directory',
    'output',
    'input',
    'strip',
    'reject-file',
    'prefix',
    'suffix',
    'backup-if-mismatch',
    'fuzz',
    'version-control',
    'basename-prefix',
    'ifdef',
    'quoting-style',
  ]);
  if (has(o, 'dry-run', 'C', 'check')) return {};
  const target = val(o, 'o', 'output') ?? o.operands[0] ?? val(o, 'd', 'directory') ?? lit('.');
  classifyWrite(target, site, inv.text);
  const input = val(o, 'i', 'input');
  return input !== undefined ? readFiles([input], inv, site) : {};
};

/** split: pieces of the input go to files named after a prefix (`x` by default). */
const splitRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'abClnt', ['lines', 'bytes', 'line-bytes', 'number', 'suffix-length', 'additional-suffix', 'filter', 'separator']);
  classifyWrite(o.operands[1] ?? lit('x'), site, inv.text);
  const filter = val(o, 'filter');
  if (filter !== undefined) {
    if (isBareShell(filter.value.trim().split(/\s+/).map(lit))) site.add('exec.obfuscated', 'high', ev(inv, 'split --filter starts a shell on the input'));
    site.shell(filter.value, { ...inv, stdin: undefined });
  }
  return readFiles(o.operands.slice(0, 1), inv, site);
};

const unlinkRule: ProgramRule = (inv, site) => {
  deleteTargets(inv.argv.slice(1), false, inv, site, 'unlink of');
  return {};
};

/** Programs that delete, write, copy and change the permissions of files. */
export const FILE_PROGRAMS: ProgramFamily = {
  title: 'Files',
  rules: [
    ['rm', rmRule],
    ['unlink', unlinkRule],
    ['rmdir', rmdirRule],
    ['shred srm wipe', shredRule],
    ['dd', ddRule],
    ['chmod', chmodRule],
    ['chown chgrp', chownRule],
    ['cp mv install ln', copyRule],
    ['tee', teeRule],
    ['truncate', truncateRule],
    ['touch', createsOperands('rdtT', ['reference', 'date', 'time'])],
    ['mkdir', createsOperands('mZ', ['mode', 'context'])],
    ['mkfifo mknod', createsOperands('mZ', ['mode', 'context'])],
    ['setfacl', createsOperands('mMxX', ['modify', 'modify-file', 'remove', 'remove-file', 'set', 'set-file', 'restore'])],
    ['mktemp', mktempRule],
    ['patch', patchRule],
    ['split', splitRule],
  ],
};
