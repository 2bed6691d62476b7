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
    re: /\b(socket\.socket|socket\.create_connection|urllib|requests\.(get|post|put)|http\.client|httpx|fetch\s*\(|https?\.(request|get)\s*\(|net\.(connect|createConnection)|LWP::|HTTP::Tiny|IO::Socket|Net::HTTP|open-uri|TCPSocket|fsockopen|curl_exec|file_get_contents\s*\(\s*["']https?:)/,
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

/** Finds the dangerous calls in inline code. */
export function scanCode(code: string): CodeFinding[] {
  const out: CodeFinding[] = [];
  for (const p of PATTERNS) if (p.re.test(code)) out.push({ category: p.category, risk: p.risk, what: p.what });
  return out;
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
    /(?:os\.system|os\.popen|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)|commands\.getoutput|execSync|exec|spawnSync|system|popen|shell_exec|passthru|IO\.popen|%x)\s*\(\s*(?:\[\s*)?(["'`])((?:\\.|(?!\1).)*)\1/g;
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
