/**
 * Reading and transforming data: readers and searches (secret files make the output secret,
 * credential hunts are `secret.read`), sed, echo and printf, encoders and decoders, openssl.
 */

import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import { decodeAnsiC, type SubOutput } from '../shell-words.js';
import { compressesInPlace } from './archives.js';
import { classifyWrite, egress, ev, mergeOut, readFiles, SECRET_NAME, SECRET_VAR, subsOf } from './effects.js';
import type { ProgramFamily } from './family.js';
import { has, type Opts, opts, val } from './options.js';
import { shellToSocket } from './shells.js';

const READ_VALUED: Record<string, string> = {
  head: 'nc',
  tail: 'ncs',
  sort: 'kotTS',
  cut: 'dfbc',
  grep: 'efmABCD',
  egrep: 'efmABCD',
  fgrep: 'efmABCD',
  jq: '',
  diff: 'CUWxX',
  wc: '',
  nl: 'bvwis',
  od: 'AjNtw',
  hexdump: 'efns',
  strings: 'ntoe',
};

/** cat, head, less, grep …: reading files; secrets make the output secret. */
const readerRule: ProgramRule = (inv, site) => {
  const name = inv.name;
  const o = opts(inv.argv.slice(1), READ_VALUED[name] ?? '', [
    'regexp',
    'file',
    'max-count',
    'context',
    'after-context',
    'before-context',
    'include',
    'exclude',
    'exclude-dir',
    'color',
    'type',
    'glob',
    'pre',
    'pre-glob',
    'sort',
    'arg',
  ]);
  let files = o.operands;
  if (name === 'sort') {
    const out = val(o, 'o', 'output');
    if (out !== undefined) classifyWrite(out, site, inv.text);
  }
  if (name === 'uniq' && files[1] !== undefined) {
    classifyWrite(files[1], site, inv.text);
    files = files.slice(0, 1);
  }
  if (/^(e|f)?grep$|^rg$|^ag$|^ack$/.test(name) && !has(o, 'e', 'f', 'regexp', 'file')) files = files.slice(1);
  if (name === 'jq' || name === 'yq') files = files.slice(1);
  if (name === 'rg') {
    const pre = val(o, 'pre');
    if (pre !== undefined) {
      site.add('exec.obfuscated', 'high', ev(inv, `rg --pre runs ${pre.value} on every file`));
      site.run([pre], { ...inv, stdin: undefined });
    }
  }
  if ((name === 'less' || name === 'more') && (inv.env['LESSOPEN'] !== undefined || inv.env['LESSCLOSE'] !== undefined)) {
    site.add('exec.obfuscated', 'high', ev(inv, 'LESSOPEN runs a program'));
  }
  if (name === 'man' && (has(o, 'P', 'pager', 'H', 'html') || inv.env['MANPAGER'] !== undefined || inv.env['PAGER'] !== undefined)) {
    site.add('exec.obfuscated', 'high', ev(inv, 'man runs a custom pager'));
  }
  if (
    name === 'man' ||
    name === 'info' ||
    name === 'whatis' ||
    name === 'apropos' ||
    name === 'which' ||
    name === 'type' ||
    name === 'ls' ||
    name === 'stat' ||
    name === 'file' ||
    name === 'du' ||
    (name === 'wc' && files.length === 0)
  ) {
    return name === 'ls' ? { pathsUnder: (files[0]?.value ?? '.').replace(/\/$/, '') + '/*' } : {};
  }
  const hunt = /^(e|f)?grep$|^rg$|^ag$|^ack$/.test(name) ? credentialHunt(o, inv, site) : {};
  const read = mergeOut(readFiles(files, inv, site), hunt);
  if (files.length === 0 && inv.stdin !== undefined) {
    const passthrough: SubOutput = { ...inv.stdin };
    if (name !== 'cat' && name !== 'tac') delete passthrough.text;
    if (name !== 'cat') delete passthrough.program;
    delete passthrough.pathsUnder;
    return passthrough;
  }
  const only = files[0];
  // `cat /bin/sh > /tmp/x`: the file it fills is a copy of the program.
  if (name === 'cat' && files.length === 1 && only !== undefined && only.literal && !only.glob) return { ...read, program: only.value };
  return read;
};

/** Patterns that look for credentials: passwords, tokens, keys, cloud key ids, private-key headers. */
const CREDENTIAL_PATTERN = /pass(w(or)?d)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_ -]?key|BEGIN [A-Z ]*PRIVATE|aws_|AKIA|credential|auth|bearer|ssh-rsa|client[_-]?secret/i;

/**
 * A recursive search for credentials (`grep -rIl password /etc`, `rg -i aws_secret ~`):
 * outside the workspace it reads whatever secrets it finds, high; in the workspace medium.
 */
function credentialHunt(o: Opts, inv: Invocation, site: Site): SubOutput {
  const recursive = inv.name === 'rg' || inv.name === 'ag' || inv.name === 'ack' || has(o, 'r', 'R', 'recursive', 'dereference-recursive');
  if (!recursive) return {};
  const patterns = has(o, 'e', 'regexp') ? [val(o, 'e', 'regexp')] : [o.operands[0]];
  const include = [val(o, 'include'), val(o, 'glob'), val(o, 'g')].map((a) => a?.value ?? '').join(' ');
  const wanted = patterns.some((p) => p !== undefined && CREDENTIAL_PATTERN.test(p.value)) || SECRET_NAME.test(include);
  if (!wanted) return {};
  const roots = has(o, 'e', 'regexp', 'f', 'file') ? o.operands : o.operands.slice(1);
  const zones = (roots.length === 0 ? [lit('.')] : roots).map((r) => site.zone(r));
  const wide = zones.some((z) => z === 'system' || z === 'home' || z === 'outside' || z === 'unknown');
  site.add('secret.read', wide ? 'high' : 'medium', ev(inv, `searches ${wide ? 'the system' : 'the workspace'} for credentials`));
  return wide ? { secret: true } : {};
}

const sedRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'efl', ['expression', 'file', 'line-length']);
  const inPlace = has(o, 'i', 'in-place');
  const scripts = [val(o, 'e', 'expression')].filter((a): a is Arg => a !== undefined);
  let files = o.operands;
  if (scripts.length === 0 && !has(o, 'f', 'file')) {
    if (files[0] !== undefined) scripts.push(files[0]);
    files = files.slice(1);
  }
  for (const s of scripts) {
    if (/(^|[;\n}0-9$/])\s*e(\s|$)|\/[gpI0-9]*e[gpI0-9]*\s*($|;)/.test(s.value)) site.add('exec.obfuscated', 'high', ev(inv, 'sed script executes commands'));
    const w = /(?:^|[;\n])\s*w\s+(\S+)|\/w\s+(\S+)/.exec(s.value);
    if (w !== null) classifyWrite(lit(w[1] ?? w[2] ?? ''), site, inv.text);
  }
  if (inPlace) for (const f of files) classifyWrite(f, site, inv.text);
  return mergeOut(readFiles(files, inv, site), files.length === 0 ? (inv.stdin ?? {}) : {});
};

const echoRule: ProgramRule = (inv, site) => {
  let args = inv.argv.slice(1);
  let escapes = inv.name === 'printf';
  if (inv.name === 'echo') {
    while (args[0] !== undefined && /^-[neE]+$/.test(args[0].value)) {
      if (args[0].value.includes('e')) escapes = true;
      args = args.slice(1);
    }
  }
  for (const a of args) {
    if (a.unknownVars.some((v) => SECRET_VAR.test(v))) {
      site.add('secret.read', inv.piped ? 'high' : 'medium', ev(inv, `prints secret variable $${a.unknownVars.find((v) => SECRET_VAR.test(v)) ?? ''}`));
      return { secret: true, ...mergeOut(subsOf(args)) };
    }
  }
  const subs = subsOf(args);
  if (!args.every((a) => a.literal)) return subs;
  let text: string;
  if (inv.name === 'printf') {
    const [fmt, ...rest] = args.map((a) => a.value);
    let k = 0;
    text = decodeAnsiC((fmt ?? '').replace(/%%/g, '\u0000'))
      .replace(/%[-0-9.]*[sbdqcx]/g, () => rest[k++] ?? '')
      .replace(/\u0000/g, '%');
    text += rest.slice(Math.max(k, 0)).length > 0 && k === 0 ? '' : '';
  } else {
    text = args.map((a) => a.value).join(' ');
    if (escapes) text = decodeAnsiC(text);
  }
  return { ...subs, text };
};

function tryBase64(text: string): string | undefined {
  const clean = text.replace(/\s+/g, '');
  if (clean === '' || !/^[A-Za-z0-9+/_-]+=*$/.test(clean)) return undefined;
  const decoded = Buffer.from(clean, 'base64').toString('utf8');
  return /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(decoded) ? undefined : decoded;
}

const decodeRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  const name = inv.name;
  let decoding = false;
  if (name === 'base64' || name === 'base32' || name === 'basenc') decoding = args.some((a) => /^-[a-zA-Z]*[dD]|^--decode$/.test(a));
  else if (name === 'xxd') decoding = args.some((a) => /^-[a-z]*r/.test(a) || a === '-revert');
  else if (name === 'openssl') decoding = (args.includes('-d') || (args.includes('-a') && args.includes('-d'))) && /^(enc|base64|aes|des|bf|cast|rc)/.test(args[0] ?? '');
  else if (name === 'uudecode' || name === 'rev') decoding = true;
  else if (/^(gunzip|zcat|bunzip2|bzcat|xzcat|unxz|zstdcat|unzstd|lzcat)$/.test(name)) decoding = true;
  else if (/^(gzip|bzip2|xz|zstd|lzma)$/.test(name)) decoding = args.some((a) => /^-[a-z]*d|^--decompress$/.test(a));
  else if (name === 'tr') decoding = /A-Z.*N-Z|N-Z.*A-M|a-z.*n-z/i.test(args.join(' '));
  const files = inv.argv.slice(1).filter((a) => !a.value.startsWith('-') && !(name === 'tr') && !(name === 'openssl' && /^(enc|base64)$/.test(a.value)));
  const read = readFiles(files, inv, site);
  if (/^(gzip|bzip2|xz|zstd|lzma|gunzip|bunzip2|unxz|unzstd)$/.test(name) && inv.stdin === undefined) compressesInPlace(inv, site);
  if (name === 'openssl') return opensslRule(inv, site);
  if (!decoding) return mergeOut(read, inv.stdin ?? {});
  const out: SubOutput = { decoded: true };
  if (read.secret || inv.stdin?.secret) out.secret = true;
  const input = inv.stdin?.text;
  if (input !== undefined && (name === 'base64' || name === 'basenc')) {
    const text = tryBase64(input);
    if (text !== undefined) out.text = text;
  } else if (input !== undefined && name === 'rev') out.text = [...input.replace(/\n$/, '')].reverse().join('') + '\n';
  else if (input !== undefined && name === 'xxd') {
    const hex = input.replace(/[^0-9a-fA-F]/g, '');
    if (hex.length % 2 === 0) out.text = Buffer.from(hex, 'hex').toString('utf8');
  }
  return out;
};

const opensslRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  const sub = args[0]?.value ?? '';
  const connect = args.findIndex((a) => a.value === '-connect');
  if (sub === 's_client' && connect >= 0) {
    const target = args[connect + 1]?.value ?? '';
    const host = target.replace(/:\d+$/, '');
    shellToSocket(inv, site, host);
    egress(host, inv, site, inv.stdin?.secret === true || inv.stdin?.text !== undefined, 'TLS connection');
    return { download: true };
  }
  const inIdx = args.findIndex((a) => a.value === '-in');
  // Certificates, requests and CRLs are public material even in `.pem` files.
  const publicInput = /^(x509|req|verify|crl|crl2pkcs7|asn1parse|s_server)$/.test(sub) && !args.some((a) => a.value === '-key' || a.value === '-signkey');
  const read = inIdx >= 0 && !publicInput ? readFiles([args[inIdx + 1] ?? lit('')], inv, site) : {};
  const outIdx = args.findIndex((a) => a.value === '-out');
  if (outIdx >= 0 && args[outIdx + 1] !== undefined) classifyWrite(args[outIdx + 1] as Arg, site, inv.text);
  const decoding = args.some((a) => a.value === '-d') && /^(enc|base64|aes|des|bf|cast|rc|chacha)/.test(sub);
  return decoding ? { ...read, decoded: true } : read;
};

/** Programs that read, search, print, encode and decode data. */
export const TEXT_PROGRAMS: ProgramFamily = {
  title: 'Reading and transforming data',
  rules: [
    [
      'cat tac nl head tail less more most grep egrep fgrep rg ag ack strings od hexdump wc sort uniq cut jq yq diff cmp comm paste column fold fmt bat man info ls stat file du which type whatis apropos tree md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum',
      readerRule,
    ],
    ['sed', sedRule],
    ['echo printf', echoRule],
    ['base64 base32 basenc xxd uudecode rev gunzip zcat bunzip2 bzcat xzcat unxz zstdcat unzstd lzcat gzip bzip2 xz zstd lzma tr', decodeRule],
    ['openssl', opensslRule],
  ],
};
