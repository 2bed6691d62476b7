/**
 * Network clients, servers and tunnels: what leaves the machine, to which class of host, and
 * whether secrets go with it.
 */

import { posix } from 'node:path';
import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { classifyWrite, clip, deleteTargets, egress, ev, mergeOut, readFiles, SECRET_VAR, subsOf, urlHost } from './effects.js';
import type { ProgramFamily } from './family.js';
import { has, opts, val } from './options.js';
import { shellToSocket, stdinEscapes } from './shells.js';

function argHostUnknown(a: Arg): boolean {
  return !a.literal;
}

const CURL_VALUED = 'dFTodHXuAebcxKwmrCEyYzUQtD';

const CURL_LONG = [
  'data',
  'data-raw',
  'data-binary',
  'data-urlencode',
  'data-ascii',
  'json',
  'form',
  'form-string',
  'upload-file',
  'output',
  'header',
  'request',
  'user',
  'proxy',
  'url',
  'config',
  'cookie',
  'cookie-jar',
  'cert',
  'key',
  'cacert',
  'connect-to',
  'resolve',
  'max-time',
  'retry',
  'write-out',
  'referer',
  'user-agent',
  'output-dir',
  'dump-header',
  'oauth2-bearer',
  'interface',
  'limit-rate',
  'connect-timeout',
  'range',
  'proto',
  'proto-redir',
  'expect100-timeout',
  'retry-delay',
  'retry-max-time',
  'unix-socket',
  'aws-sigv4',
  'variable',
  'trace',
  'trace-ascii',
  'stderr',
  'ciphers',
  'socks5',
  'socks5-hostname',
  'preproxy',
  'noproxy',
];

const curlRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), CURL_VALUED, CURL_LONG);
  const urls = [...o.operands, ...[val(o, 'url')].filter((a): a is Arg => a !== undefined)];
  let upload = false;
  let secret = inv.stdin?.secret === true;
  const dataFlags = ['d', 'data', 'data-raw', 'data-binary', 'data-urlencode', 'data-ascii', 'json', 'F', 'form', 'T', 'upload-file'];
  for (let i = 1; i < inv.argv.length; i++) {
    const a = inv.argv[i] as Arg;
    const next = inv.argv[i + 1];
    let key: string | undefined;
    let value: Arg | undefined;
    const m = /^--([a-z0-9-]+)=(.*)$/s.exec(a.value);
    if (m !== null) {
      key = m[1];
      value = { ...a, value: m[2] as string };
    } else if (/^--/.test(a.value)) {
      key = a.value.slice(2);
      value = next;
    } else if (/^-[a-zA-Z]+$/.test(a.value)) {
      const last = a.value.at(-1) as string;
      key = last;
      value = a.value.length > 2 && CURL_VALUED.includes(a.value[1] as string) ? { ...a, value: a.value.slice(2) } : next;
      if (a.value.length > 2) {
        const letters = a.value.slice(1);
        const firstValued = [...letters].findIndex((c) => CURL_VALUED.includes(c));
        if (firstValued >= 0 && firstValued < letters.length - 1) {
          key = letters[firstValued];
          value = { ...a, value: letters.slice(firstValued + 1) };
        }
      }
    }
    if (key === undefined || value === undefined || !dataFlags.includes(key)) continue;
    upload = true;
    const s = subsOf([value]);
    if (s.secret) secret = true;
    if (value.unknownVars.some((v) => SECRET_VAR.test(v))) secret = true;
    const fileMatch =
      key === 'T' || key === 'upload-file'
        ? value.value
        : /^@(.+)$|^<(.+)$|^[^=]*=@([^;]+)|^[^=]*=<([^;]+)/
            .exec(value.value)
            ?.slice(1)
            .find((x) => x !== undefined);
    if (fileMatch !== undefined && fileMatch !== '-') {
      if (readFiles([{ ...value, value: fileMatch }], inv, site).secret) secret = true;
    }
  }
  const out = val(o, 'o', 'output');
  if (out !== undefined && out.value !== '-') {
    classifyWrite(out, site, inv.text);
    if (out.literal) site.markDownloaded(out.value);
  }
  if (has(o, 'O', 'remote-name')) {
    for (const u of urls) {
      const file = posix.basename(u.value.split('?')[0] ?? '');
      if (file !== '') site.markDownloaded(file);
    }
  }
  if (urls.length === 0 && !upload) return {};
  if (urls.length === 0) site.add('net.egress', 'high', ev(inv, 'request to an unknown destination'));
  for (const u of urls) {
    if (argHostUnknown(u)) {
      const s = subsOf([u]);
      site.add('net.egress', s.secret || secret ? 'critical' : 'high', ev(inv, `request to a computed URL ${clip(u.raw)}`));
      if (s.secret || secret) site.add('secret.read', 'critical', ev(inv, 'secrets sent in a URL'));
      continue;
    }
    const host = urlHost(u.value);
    if (host === undefined) {
      site.add('net.egress', 'high', ev(inv, `request to an unparsable URL ${u.value}`));
      continue;
    }
    if (/^file:/i.test(u.value)) {
      readFiles([lit(u.value.replace(/^file:\/\//i, ''))], inv, site);
      continue;
    }
    egress(host, inv, site, upload, inv.name, secret);
  }
  return out === undefined && !has(o, 'O', 'remote-name') ? { download: true } : {};
};

const wgetRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'OoaiPTtwQUeYlAR', [
    'output-document',
    'post-file',
    'post-data',
    'body-file',
    'body-data',
    'method',
    'header',
    'input-file',
    'directory-prefix',
    'user-agent',
    'execute',
    'output-file',
    'append-output',
    'tries',
    'timeout',
    'level',
    'user',
    'password',
    'proxy-user',
    'proxy-password',
    'referer',
    'load-cookies',
    'save-cookies',
  ]);
  let upload = false;
  let secret = inv.stdin?.secret === true;
  const postFile = val(o, 'post-file', 'body-file');
  if (postFile !== undefined) {
    upload = true;
    if (readFiles([postFile], inv, site).secret) secret = true;
  }
  const postData = val(o, 'post-data', 'body-data');
  if (postData !== undefined) {
    upload = true;
    if (subsOf([postData]).secret || postData.unknownVars.some((v) => SECRET_VAR.test(v))) secret = true;
  }
  const execute = val(o, 'e', 'execute');
  if (execute !== undefined) site.add('exec.obfuscated', 'medium', ev(inv, `wget -e ${execute.value}`));
  const doc = val(o, 'O', 'output-document');
  if (doc !== undefined && doc.value !== '-') {
    classifyWrite(doc, site, inv.text);
    if (doc.literal) site.markDownloaded(doc.value);
  }
  for (const u of o.operands) {
    if (!u.literal) {
      site.add('net.egress', secret || subsOf([u]).secret ? 'critical' : 'high', ev(inv, `request to a computed URL ${clip(u.raw)}`));
      continue;
    }
    if (doc === undefined) site.markDownloaded(posix.basename(u.value.split('?')[0] ?? '') || 'index.html');
    const host = urlHost(u.value);
    if (host === undefined) site.add('net.egress', 'high', ev(inv, `request to an unparsable URL ${u.value}`));
    else egress(host, inv, site, upload, 'wget', secret);
  }
  return doc?.value === '-' ? { download: true } : {};
};

const ncRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'epcsiIOPqTwWxXbM', ['exec', 'sh-exec', 'lua-exec', 'source', 'proxy', 'wait', 'idle-timeout']);
  const execCmd = val(o, 'e', 'c', 'exec', 'sh-exec', 'lua-exec');
  const listening = has(o, 'l', 'listen');
  if (execCmd !== undefined) site.add('exec.remote_code', 'critical', ev(inv, listening ? 'bind shell' : 'reverse shell'));
  if (listening) {
    if (inv.stdin?.shell === true) site.add('exec.remote_code', 'critical', ev(inv, "bind shell: a shell's output served on a port"));
    const local = [val(o, 's', 'source')?.value, ...o.operands.map((a) => a.value)].some((h) => h !== undefined && /^(127\.|localhost$|::1$)/.test(h));
    site.add('net.listen', local ? 'medium' : 'high', ev(inv, local ? 'listens on a loopback port' : 'listens on a port on all interfaces'));
    return { download: true };
  }
  const host = o.operands[0];
  if (host === undefined) return {};
  if (!host.literal) {
    site.add('net.egress', 'high', ev(inv, `connects to a computed host ${clip(host.raw)}`));
    return { download: true };
  }
  const sending = inv.stdin !== undefined && !has(o, 'z');
  shellToSocket(inv, site, host.value);
  egress(host.value, inv, site, sending, inv.name, inv.stdin?.secret === true);
  return { download: true };
};

const socatRule: ProgramRule = (inv, site) => {
  // FILE:/OPEN:/GOPEN: addresses read or write files: sent to a socket, an upload.
  let fileIn: SubOutput | undefined;
  const addresses = inv.argv.slice(1).filter((a) => !a.value.startsWith('-'));
  for (const [k, a] of addresses.entries()) {
    const f = /^(?:FILE|OPEN|GOPEN|CREATE|CREAT):([^,]+)/i.exec(a.value);
    if (f === null) continue;
    if (k === 0 && !/^CREAT/i.test(a.value)) fileIn = readFiles([{ ...a, value: f[1] as string }], inv, site);
    else classifyWrite({ ...a, value: f[1] as string }, site, inv.text);
  }
  if (fileIn !== undefined) inv = { ...inv, stdin: mergeOut(inv.stdin ?? {}, fileIn) };
  for (const a of inv.argv.slice(1)) {
    const v = a.value;
    if (/^(EXEC|SYSTEM):/i.test(v)) {
      site.add('exec.remote_code', 'critical', ev(inv, 'socat connects a program to the network'));
      site.shell(v.replace(/^(EXEC|SYSTEM):/i, '').split(',')[0] ?? '', { ...inv, stdin: undefined });
    }
    const m = /^(?:TCP[46]?|UDP[46]?|SSL|OPENSSL)(?:-CONNECT)?:([^:,]+):/i.exec(v);
    if (m !== null) egress(m[1] as string, inv, site, inv.stdin !== undefined, 'socat', inv.stdin?.secret === true);
    if (/^(TCP|UDP|SSL|OPENSSL)[46]?-LISTEN:/i.test(v)) {
      const loopback = /,bind=(127\.|localhost|\[?::1)/i.test(v);
      site.add('net.listen', loopback ? 'medium' : 'high', ev(inv, loopback ? 'socat listens on a loopback port' : 'socat listens on all interfaces'));
    }
  }
  return { download: true };
};

const sshRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'bcDEeFIiJLlmOopQRSWwB', [], true);
  const option = val(o, 'o')?.value ?? '';
  for (const a of inv.argv) {
    const m = /^(?:-o)?\s*(ProxyCommand|LocalCommand|PermitLocalCommand|KnownHostsCommand)[= ](.*)$/i.exec(a.value);
    if (m !== null && m[1]?.toLowerCase() !== 'permitlocalcommand') {
      site.add('exec.obfuscated', 'high', ev(inv, `ssh ${m[1]} runs a local command`));
      site.shell(m[2] ?? '', { ...inv, stdin: undefined });
    }
  }
  void option;
  if (has(o, 'R')) site.add('net.listen', 'high', ev(inv, 'reverse tunnel exposes a local port'));
  const forward = val(o, 'L')?.value ?? '';
  if (has(o, 'D') || has(o, 'g') || /^(0\.0\.0\.0|\*|::):/.test(forward))
    site.add('net.listen', 'high', ev(inv, has(o, 'D') ? 'ssh SOCKS proxy into the remote network' : 'ssh forward open to other hosts'));
  else if (has(o, 'L')) site.add('net.listen', 'medium', ev(inv, 'ssh port forwarding'));
  const target = o.rest[0];
  if (target === undefined) return {};
  const host = target.value
    .replace(/^.*@/, '')
    .replace(/^ssh:\/\//, '')
    .replace(/:\d+$/, '');
  const remoteCmd = o.rest.slice(1);
  egress(host, inv, site, inv.stdin !== undefined && remoteCmd.length > 0, 'ssh', inv.stdin?.secret === true);
  if (remoteCmd.length > 0) {
    const source = remoteCmd.map((a) => a.value).join(' ');
    return site.shell(source, { ...inv, remote: host });
  }
  return {};
};

function remoteSpec(v: string): string | undefined {
  if (/^rsync:\/\//.test(v)) return urlHost(v);
  const m = /^(?:[^@/:]+@)?([^:/]+):/.exec(v);
  return m === null || /^[a-zA-Z]$/.test(m[1] ?? '') ? undefined : m[1];
}

const scpRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'cFiJloPSX');
  const ops = o.operands;
  const dest = ops.at(-1);
  const sources = ops.slice(0, -1);
  for (const a of inv.argv) if (/ProxyCommand/i.test(a.value)) site.add('exec.obfuscated', 'high', ev(inv, 'ssh ProxyCommand runs a local command'));
  if (dest === undefined) return {};
  if (inv.name === 'sftp' && ops.length === 1 && remoteSpec(dest.value) === undefined) {
    // `sftp user@host`: an interactive session, like ftp's.
    egress(dest.value.replace(/^.*@/, ''), inv, site, false, 'sftp session');
    return {};
  }
  const destHost = remoteSpec(dest.value);
  const localSources = sources.filter((s) => remoteSpec(s.value) === undefined);
  if (destHost !== undefined) {
    const secret = readFiles(localSources, inv, site).secret === true;
    egress(destHost, inv, site, localSources.length > 0, inv.name, secret);
  } else {
    for (const s of sources) {
      const h = remoteSpec(s.value);
      if (h !== undefined) egress(h, inv, site, false, inv.name);
    }
    classifyWrite(dest, site, inv.text);
  }
  return {};
};

const rsyncRule: ProgramRule = (inv, site) => {
  const o = opts(inv.argv.slice(1), 'eBfT', [
    'rsh',
    'rsync-path',
    'exclude',
    'include',
    'filter',
    'files-from',
    'password-file',
    'temp-dir',
    'backup-dir',
    'chmod',
    'chown',
    'link-dest',
    'compare-dest',
    'copy-dest',
  ]);
  const rsh = val(o, 'e', 'rsh');
  if (rsh !== undefined && !/^ssh(\s|$)/.test(rsh.value)) site.add('exec.obfuscated', 'high', ev(inv, `rsync runs ${rsh.value}`));
  const rpath = val(o, 'rsync-path');
  if (rpath !== undefined && rpath.value !== 'rsync' && !/sudo rsync$/.test(rpath.value)) site.add('exec.obfuscated', 'high', ev(inv, 'rsync --rsync-path runs a command'));
  const dest = o.operands.at(-1);
  const sources = o.operands.slice(0, -1);
  const deletes = [...o.flags.keys()].some((k) => /^(delete|del|delete-.*|remove-source-files)$/.test(k));
  if (dest === undefined) return {};
  const destHost = remoteSpec(dest.value);
  if (deletes) {
    if (destHost !== undefined) site.add('fs.delete', 'high', ev(inv, `rsync --delete on remote ${dest.value}`));
    else deleteTargets([{ ...dest, value: dest.value.replace(/\/$/, '') + '/*', glob: true }], true, inv, site, 'rsync --delete in');
  }
  if (destHost !== undefined) {
    const local = sources.filter((s) => remoteSpec(s.value) === undefined);
    egress(destHost, inv, site, local.length > 0, 'rsync', readFiles(local, inv, site).secret === true);
  } else {
    for (const s of sources) {
      const h = remoteSpec(s.value);
      if (h !== undefined) egress(h, inv, site, false, 'rsync');
    }
    readFiles(sources, inv, site);
    classifyWrite(dest, site, inv.text);
  }
  return {};
};

const dnsRule: ProgramRule = (inv, site) => {
  icmpPayload(inv, site);
  const o = opts(inv.argv.slice(1), 'cWiIstwpqfbQlTmxgP', []);
  for (const h of o.operands) {
    if (h.value.startsWith('@')) continue;
    if (!h.literal) {
      const s = subsOf([h]);
      site.add('net.egress', s.secret ? 'critical' : 'high', ev(inv, `lookup of a computed name ${clip(h.raw)} (DNS exfiltration)`));
      if (s.secret) site.add('secret.read', 'critical', ev(inv, 'secrets sent through DNS'));
      continue;
    }
    if (/^[A-Za-z]+$/.test(h.value) && /^(A|AAAA|MX|TXT|NS|CNAME|SOA|ANY|PTR|SRV)$/i.test(h.value)) continue;
    const cls = site.host(h.value);
    site.add('net.egress', cls === 'metadata' ? 'critical' : 'low', ev(inv, `${inv.name} ${h.value}`));
  }
  return {};
};

/** `ping -p <hex>`: data carried in the ICMP payload. */
function icmpPayload(inv: Invocation, site: Site): void {
  if (/^ping6?$/.test(inv.name) && inv.argv.some((a, k) => a.value === '-p' || (/^-p[0-9a-fA-F]+$/.test(a.value) && k > 0))) site.add('net.egress', 'high', ev(inv, 'data sent in ICMP payloads'));
}

const listenRule: ProgramRule = (inv, site) => {
  const exposes = /^(ngrok|cloudflared|lt|localtunnel|bore|frpc|serveo|chisel|sshuttle|iodine|iodined|dnscat|dnscat2|ptunnel|ptunnel-ng|gost|pwncat|pwncat-cs)$/.test(inv.name);
  site.add('net.listen', exposes ? 'high' : 'medium', ev(inv, exposes ? 'exposes a local port to the internet' : 'serves on a port'));
  return {};
};

const scannerRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  const script = values.find((v, k) => /^--script=/.test(v) || (v === '--script' && k + 1 < values.length));
  const scriptValue = script?.startsWith('--script=') ? script.slice(9) : values[values.indexOf('--script') + 1];
  // NSE scripts are Lua with os.execute: a script file, or all of them, runs code.
  if (scriptValue !== undefined && /\/|\.nse$|^all$|^\*/.test(scriptValue)) site.add('exec.interpreter', 'high', ev(inv, `${inv.name} runs the Lua script ${scriptValue}`));
  if (values.includes('--interactive')) site.add('exec.obfuscated', 'high', ev(inv, 'nmap interactive mode runs shell commands'));
  site.add('net.egress', inv.name === 'nmap' ? 'medium' : 'high', ev(inv, `${inv.name} scans the network`));
  return {};
};

const xtermRule: ProgramRule = (inv, site) => {
  const d = inv.argv.findIndex((a) => a.value === '-display' || a.value === '--display');
  const host = (inv.argv[d + 1]?.value ?? '').replace(/:\d+(\.\d+)?$/, '');
  if (d > 0 && host !== '' && !/^(localhost|127\.0\.0\.1|unix)$/.test(host)) {
    site.add('exec.remote_code', 'critical', ev(inv, `opens a shell on the X display of ${host}`));
    site.host(host);
  }
  return {};
};

const rcloneRule: ProgramRule = (inv, site) => {
  const words = inv.argv.slice(1).filter((a) => !a.value.startsWith('-'));
  const verb = words[0]?.value ?? '';
  if (!/^(copy|sync|move|copyto|moveto|bisync|rcat)$/.test(verb)) return {};
  const dest = words.at(-1)?.value ?? '';
  const sources = words.slice(1, -1);
  if (/^[\w.-]+:/.test(dest)) {
    const secret = readFiles(sources, inv, site).secret === true;
    site.add('net.egress', secret ? 'critical' : 'high', ev(inv, `rclone uploads to ${dest}`));
    if (secret) site.add('secret.read', 'critical', ev(inv, 'secrets uploaded'));
  } else site.add('net.egress', 'medium', ev(inv, 'rclone downloads'));
  return {};
};

const fileTransferRule: ProgramRule = (inv, site) => {
  stdinEscapes(inv, site);
  const text = inv.argv
    .slice(1)
    .map((a) => a.value)
    .join(' ');
  const put = /\b(put|mput|send|append)\b/.test(text) || inv.name === 'ncftpput' || /^put\b/.test(inv.stdin?.text ?? '');
  site.add('net.egress', put ? 'high' : 'medium', ev(inv, put ? `${inv.name} uploads files` : `${inv.name} opens a file-transfer session`));
  if (/(^|\s)!/.test(text)) site.add('exec.obfuscated', 'high', ev(inv, `${inv.name} runs a shell escape`));
  return {};
};

const captureRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  // Reading a saved capture or listing interfaces captures nothing.
  if (values.length === 0 ? false : values.some((v) => /^(-r|--read-file|-D|--list-interfaces|--version|-h|--help|-v|-L|--list-data-link-types)$/.test(v) && v !== '-v')) return {};
  site.add('secret.read', 'high', ev(inv, 'captures network traffic (credentials, tokens, sessions)'));
  const w = inv.argv.findIndex((a) => a.value === '-w');
  const file = w > 0 ? inv.argv[w + 1] : undefined;
  if (file !== undefined && file.value !== '-') classifyWrite(file, site, inv.text);
  return { secret: true };
};

/** Clients, servers, tunnels, transfers, scanners and packet capture. */
export const NETWORK_PROGRAMS: ProgramFamily = {
  title: 'Network',
  rules: [
    ['curl', curlRule],
    ['wget', wgetRule],
    ['nc ncat netcat telnet', ncRule],
    ['socat', socatRule],
    ['ssh', sshRule],
    ['scp sftp', scpRule],
    ['rsync', rsyncRule],
    ['dig nslookup host ping ping6 traceroute tracepath whois drill mtr', dnsRule],
    ['ngrok cloudflared lt localtunnel bore frpc http-server serve live-server chisel sshuttle iodine iodined dnscat dnscat2 ptunnel ptunnel-ng gost pwncat pwncat-cs', listenRule],
    ['nmap masscan zmap naabu', scannerRule],
    ['xterm', xtermRule],
    ['rclone', rcloneRule],
    ['smbclient ftp tftp lftp ncftp ncftpput curlftpfs', fileTransferRule],
    ['tcpdump tshark dumpcap tcpflow ngrep ettercap bettercap termshark', captureRule],
  ],
};
