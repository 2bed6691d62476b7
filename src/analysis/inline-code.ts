/**
 * A shallow look into inline interpreter code (`python -c`, `node -e`, `perl -e`, awk
 * programs): the analyzer cannot follow a general-purpose language, so the code itself is
 * `exec.interpreter`, and the obvious dangerous calls inside it (deleting trees, running
 * shell commands, opening sockets, decoding and evaluating) raise it. String literals passed
 * to `os.system`, `subprocess`, `child_process`, `system()` are analyzed as shell commands.
 */

import type { Category } from '../core/categories.js';
import type { Risk } from '../core/risk.js';

export interface CodeFinding {
  category: Category;
  risk: Risk;
  what: string;
}

const PATTERNS: { re: RegExp; category: Category; risk: Risk; what: string }[] = [
  {
    re: /\b(shutil\.rmtree|rmtree|os\.(remove|unlink|rmdir|removedirs)|Path\([^)]*\)\.(unlink|rmdir)|fs\.(rm|rmSync|rmdir|rmdirSync|unlink|unlinkSync)|rimraf|FileUtils\.(rm_rf|rm_r|remove_dir)|File\.delete|unlink\s*\(|rmtree\s*\()/,
    category: 'fs.delete',
    risk: 'high',
    what: 'deletes files',
  },
  {
    re: /\b(os\.(system|popen|exec[lv]p?e?|spawn[lv]p?e?)|subprocess\.|commands\.getoutput|pty\.spawn|child_process|execSync|spawnSync|execFileSync|Deno\.(run|Command)|Bun\.spawn|Runtime\.getRuntime|IO\.popen|Kernel\.(system|exec)|shell_exec|passthru|proc_open|popen\s*\(|system\s*\(|exec\s*\(\s*["'`]|`[^`]+`)/,
    category: 'exec.interpreter',
    risk: 'high',
    what: 'runs shell commands',
  },
  { re: /\.(rmSync|rmdirSync|unlinkSync|rm|rmdir)\(|\.(unlink|rmtree)\(/, category: 'fs.delete', risk: 'high', what: 'deletes files' },
  {
    // Perl/Ruby/Lua/PHP calls without parentheses or outside the list above: `exec "/bin/sh"`,
    // `system$_`, `os.execute(…)`, `io.popen`, `qx{…}`, `%x(…)`, `spawn(…)`, `pcntl_exec`.
    re: /(?:^|[^\w.$])(?:exec|system)\s*["'$qQ{]|\bos\.execute\b|\bio\.popen\b|\bqx\s*[{(/|[]|%x\s*[{([]|\b(?:spawn|execFile|fork)\s*\(|\bpcntl_exec\b|\bOpen3\b|\bProcess\.spawn\b|\bIO\.popen\b/,
    category: 'exec.interpreter',
    risk: 'high',
    what: 'runs shell commands',
  },
  {
    re: /\buse\s+Socket\b|\bsocket\s*\(\s*\w+\s*,\s*PF_INET|\bIO::Socket|require\s*\(?\s*["'](?:net|dgram|tls|socket)["']|\/inet6?\/(?:tcp|udp)\/|\bUDPSocket\b|\bstream_socket_client\b|\bsocket\.(?:tcp|udp|connect)\b|\bnew\s+WebSocket\b/,
    category: 'net.egress',
    risk: 'high',
    what: 'opens network connections',
  },
  {
    re: /\b(socket\.socket|socket\.create_connection|urllib|requests\.(get|post|put)|http\.client|httpx|fetch\s*\(|https?\.(request|get)\s*\(|net\.(connect|createConnection)|LWP::|HTTP::Tiny|IO::Socket|Net::HTTP|open-uri|TCPSocket|fsockopen|curl_exec|file_get_contents\s*\(\s*["']https?:|require\s*\(\s*["']https?["']\s*\))/,
    category: 'net.egress',
    risk: 'high',
    what: 'opens network connections',
  },
  {
    re: /\b(b64decode|base64\.b64decode|atob\s*\(|Buffer\.from\([^)]*base64|MIME::Base64|decode_base64|base64_decode|unpack\(['"]m|codecs\.decode|marshal\.loads|pickle\.loads|zlib\.decompress)/,
    category: 'exec.obfuscated',
    risk: 'high',
    what: 'decodes hidden payloads',
  },
  {
    re: /\b(eval|exec)\s*\(\s*(compile|__import__|base64|b64|atob|Buffer|decode|unescape|String\.fromCharCode|bytes\.fromhex|zlib)/,
    category: 'exec.obfuscated',
    risk: 'critical',
    what: 'evaluates decoded code',
  },
  { re: /(\.ssh\/id_|\.aws\/credentials|\/etc\/shadow|\.env\b|\/proc\/self\/environ|\.kube\/config|\.git-credentials|\.netrc)/, category: 'secret.read', risk: 'high', what: 'reads secrets' },
  {
    re: /\b(os\.environ\b(?!\s*\.get|\s*\[)|process\.env\b(?!\.[A-Za-z_]|\[)|%ENV\b|ENV\.to_h|getenv\(\)|os\.environ\.copy)/,
    category: 'secret.read',
    risk: 'medium',
    what: 'reads the whole environment',
  },
  { re: /\b(os\.setuid|setuid\s*\(|os\.chmod\([^)]*0o?[2467][0-7]{3})/, category: 'priv.escalate', risk: 'critical', what: 'changes privileges' },
  { re: /\b(os\.kill|process\.kill|signal\.SIGKILL|kill\s*\(\s*-1)/, category: 'proc.kill', risk: 'medium', what: 'kills processes' },
  {
    re: /\b(http\.server|SimpleHTTPServer|socketserver|\.listen\s*\(|createServer|TCPServer|bind\s*\(\s*\(?\s*["']0\.0\.0\.0)/,
    category: 'net.listen',
    risk: 'medium',
    what: 'listens on the network',
  },
  { re: /\b(dropDatabase|DROP\s+(TABLE|DATABASE|SCHEMA)|TRUNCATE\s+TABLE)/i, category: 'db.destructive', risk: 'high', what: 'destroys database data' },
];

/** Wiring a process's standard streams to a descriptor: the last step of a reverse shell. */
const DUPS_STREAMS =
  /\bdup2\b|\bfdopen\b|open\s*\(\s*STD(?:IN|OUT|ERR)\s*,\s*["']?[>&+<]|\.pipe\s*\(|\bspawn\s*\([^)]{0,200}stdio|<&%d|>&%d|\bsh\s+-i\b|\/bin\/(?:ba|z|da)?sh\b|\b(?:cmd|bash|sh)\.exe\b|\|&\s*getline|io\.popen|IO\.popen|\bsystem\s*\$_|\bexec\s*\(?\s*["']\/bin\//;

/** Finds the dangerous calls in inline code. */
export function scanCode(code: string): CodeFinding[] {
  const out: CodeFinding[] = [];
  for (const p of PATTERNS) if (p.re.test(code) && !out.some((f) => f.category === p.category && f.what === p.what)) out.push({ category: p.category, risk: p.risk, what: p.what });
  // Code fetched from the network and evaluated is remote code.
  if (out.some((f) => f.category === 'net.egress') && /\b(eval|exec|Function|instance_eval|load)\s*\(|\beval\s+[\w$]/.test(code)) {
    out.push({ category: 'exec.remote_code', risk: 'critical', what: 'evaluates code fetched from the network' });
  }
  // A connection plus a shell or a command loop on its descriptor is a reverse shell.
  if (out.some((f) => f.category === 'net.egress') && DUPS_STREAMS.test(code)) {
    out.push({ category: 'exec.remote_code', risk: 'critical', what: 'wires a shell to a network connection (reverse shell)' });
  }
  return out;
}

// Bounded repeats: these run on up to 100,000 characters of code.
const WRITES =
  /\bopen\s*\(?\s*(?:my\s+)?\$?\w+\s*,\s*["']\s*\+?(?:>|\|)|\bopen\s*\([^)]{0,200},\s*["'][wa]\+?b?["']|\b(?:writeFileSync|appendFileSync|writeFile|appendFile|createWriteStream|copyFileSync|symlinkSync|file_put_contents|fwrite|fputs|copy)\s*\(|\bFile\.(?:write|open\s*\([^)]{0,200}["'][wa])|\bfopen\s*\([^)]{0,200}["'][wa]|\bio\.open\s*\([^)]{0,200}["'][wa]|\bprint[f]?\b[^|;\n]{0,200}>>?\s*"|\.write_text\s*\(|\bshutil\.copy/;

/**
 * The absolute and home paths inline code writes to, when it writes at all: string
 * literals that look like such paths (`open(F, ">/etc/cron.d/x")`, `writeFileSync("/root/…")`).
 *
 * @example writtenPaths('open(F,">>/home/u/.bashrc")') // ['/home/u/.bashrc']
 */
export function writtenPaths(code: string): string[] {
  if (!WRITES.test(code)) return [];
  const out: string[] = [];
  for (const m of code.matchAll(/["'`]\s*(?:\+?[>|]{1,2}\s*)?((?:~|\/)[^"'`\s]*)["'`]/g)) {
    const p = m[1];
    if (p !== undefined && p.length > 1 && !/^\/(?:dev\/(?:null|std)|inet|bin\/(?:ba|z|da)?sh$)/.test(p) && !out.includes(p)) out.push(p);
  }
  return out.slice(0, 8);
}

/**
 * The shell commands inline code passes to a shell as string literals:
 * `os.system("rm -rf /")`, `subprocess.run("…", shell=True)`, `execSync('…')`,
 * awk's `system("…")`, Perl and Ruby backticks.
 *
 * @example embeddedShell('import os; os.system("rm -rf /")') // ['rm -rf /']
 */
export function embeddedShell(code: string): string[] {
  const out: string[] = [];
  const call =
    /(?:os\.system|os\.popen|os\.execute|io\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|commands\.getoutput|execSync|exec|spawnSync|system|popen|shell_exec|passthru|IO\.popen|%x)(?:\s*\(\s*(?:\[\s*)?|\s+)(["'`])((?:\\.|(?!\1).)*)\1/g;
  for (const m of code.matchAll(call)) if (m[2] !== undefined) out.push(unescapeLiteral(m[2]));
  for (const m of code.matchAll(/`([^`$]+)`/g)) if (m[1] !== undefined && !/\$\{/.test(m[1])) out.push(m[1]);
  // awk: print … | "cmd" and "cmd" | getline
  for (const m of code.matchAll(/\|\s*"((?:\\.|[^"])*)"|"((?:\\.|[^"])*)"\s*\|\s*getline/g)) {
    const s = m[1] ?? m[2];
    if (s !== undefined) out.push(unescapeLiteral(s));
  }
  return out.slice(0, 16);
}

function unescapeLiteral(s: string): string {
  return s.replace(/\\(["'\\nt])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}
