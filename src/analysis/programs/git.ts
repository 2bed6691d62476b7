/**
 * Version control: git subcommands that rewrite or discard history, change the repository or
 * reach a remote, options that run programs; the GitHub CLI.
 */

import { maxRisk, type Risk } from '../../core/risk.js';
import { hostRisk } from '../risk-table.js';
import type { Arg, ProgramRule } from '../shell-types.js';
import { deleteTargets, egress, ev, readFiles, urlHost } from './effects.js';
import { type ProgramFamily, type VerbTable, verbRow } from './family.js';

const GIT_EXEC_KEYS =
  /^(core\.(pager|editor|sshcommand|fsmonitor|hookspath|gitproxy|askpass)|alias\..*|credential\.helper|diff\..*\.(command|textconv)|diff\.external|sequence\.editor|filter\..*\.(clean|smudge|process)|protocol\.ext\.allow|uploadpack\.packobjectshook|gpg\.program|merge\..*\.driver|pager\..*|web\.browser|include\.path|includeif\..*)$/i;

/**
 * git subcommands without a rule of their own: these read the repository; any other
 * (aliases, plumbing) may change it, so it counts as a write.
 */
export const GIT_VERBS: VerbTable = {
  program: 'git',
  rows: [
    {
      verbs: [
        '',
        'status',
        'log',
        'show',
        'diff',
        'blame',
        'annotate',
        'grep',
        'ls-files',
        'ls-tree',
        'ls-remote',
        'rev-parse',
        'rev-list',
        'describe',
        'shortlog',
        'cat-file',
        'show-ref',
        'for-each-ref',
        'name-rev',
        'whatchanged',
        'help',
        'version',
        'count-objects',
        'fsck',
        'check-ignore',
        'check-attr',
        'check-ref-format',
        'check-mailmap',
        'merge-base',
        'var',
        'verify-commit',
        'verify-tag',
        'verify-pack',
        'range-diff',
        'cherry',
        'diff-tree',
        'diff-files',
        'diff-index',
        'show-branch',
        'get-tar-commit-id',
        'column',
        'request-pull',
        'difftool',
        'reflog',
      ],
      why: 'reads the repository',
    },
  ],
  otherwise: { finding: { category: 'fs.write', risk: 'low' }, why: 'changes the repository' },
  notes: [
    'with rules of their own: `push` (egress; forced or deleting `vcs.destructive` high), `reset --hard`, `clean -f`, `checkout .`, `restore .`, `branch -D`, `tag -d`, `stash drop/clear`, `worktree remove --force`, `rm`, `filter-branch`, `reflog expire`, `gc --prune=now`, `update-ref -d`, `config` (program-running keys `fs.write_sensitive` high), `credential fill` (`secret.read` high), `clone`/`fetch`/`pull` (egress)',
    '`-c` keys and options that run programs (`core.pager`, `--upload-pack`, `ext::`) are `exec.obfuscated` high or `exec.remote_code` critical',
  ],
};

const gitRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  let i = 0;
  for (; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '-c') {
      const kv = args[++i]?.value ?? '';
      const key = kv.split('=')[0] ?? '';
      if (GIT_EXEC_KEYS.test(key)) {
        site.add('exec.obfuscated', 'high', ev(inv, `git -c ${key} runs a program`));
        const value = kv.slice(key.length + 1).replace(/^!/, '');
        if (value !== '' && !/^(less|more|cat)\b/.test(value)) site.shell(value, { ...inv, stdin: undefined });
      }
      continue;
    }
    if (v === '-C' || v === '--git-dir' || v === '--work-tree' || v === '--namespace' || v === '--config-env') {
      i++;
      continue;
    }
    if (v.startsWith('--exec-path=') || v.startsWith('--config-env=')) {
      site.add('exec.obfuscated', 'medium', ev(inv, v));
      continue;
    }
    if (v.startsWith('-')) continue;
    break;
  }
  const sub = args[i]?.value ?? '';
  const rest = args.slice(i + 1);
  const values = rest.map((a) => a.value);
  const flag = (...names: string[]) => values.some((v) => names.includes(v) || names.some((n) => n.startsWith('--') && v.startsWith(n + '=')));
  const short = (letter: string) => values.some((v) => /^-[a-zA-Z]+$/.test(v) && v.includes(letter));
  for (const v of values) {
    if (/^--(upload-pack|receive-pack|exec)=/.test(v) || v === '--upload-pack' || v === '--receive-pack') site.add('exec.obfuscated', 'high', ev(inv, `git ${v.split('=')[0]} runs a program`));
    if (/^ext::/.test(v)) site.add('exec.remote_code', 'critical', ev(inv, 'git ext:: transport runs a command'));
    if (/^--open-files-in-pager|^-O./.test(v) && sub === 'grep') site.add('exec.obfuscated', 'high', ev(inv, 'git grep runs a pager'));
  }
  const operands = values.filter((v) => !v.startsWith('-'));
  const changes = (what: string) => site.add('fs.write', 'low', ev(inv, `git ${sub} ${what}`));
  switch (sub) {
    case 'push': {
      const force = flag('--force', '--force-with-lease', '--mirror', '--delete', '--prune', '--force-if-includes') || short('f') || short('d') || values.some((v) => /^\+|^:[^/]/.test(v));
      if (force) site.add('vcs.destructive', 'high', ev(inv, 'rewrites or deletes remote history'));
      if (flag('--dry-run', '-n') || short('n')) return {};
      // A push writes to another machine: egress, whatever the remote is called. A routine
      // push stays low (normal allow rules allow it); the kill switch sees the category.
      let risk: Risk = 'low';
      for (const v of operands) {
        const host = /^[a-z]+:\/\//.test(v) ? urlHost(v) : /^[^@/\s]+@[^:]+:/.test(v) ? v.replace(/^.*@/, '').split(':')[0] : undefined;
        const cls = host === undefined ? undefined : site.host(host);
        if (cls !== undefined && cls !== 'public') risk = maxRisk(risk, hostRisk(cls, false));
      }
      site.add('net.egress', risk, ev(inv, 'pushes commits to a remote'));
      return {};
    }
    case 'reset':
      if (flag('--hard', '--merge', '--keep')) site.add('vcs.destructive', 'high', ev(inv, 'discards uncommitted work'));
      changes('moves HEAD or the index');
      return {};
    case 'clean':
      if (!flag('--dry-run', '-n') && !short('n') && (short('f') || flag('--force')))
        site.add('vcs.destructive', short('x') || short('d') || short('X') ? 'high' : 'medium', ev(inv, 'deletes untracked files'));
      return {};
    case 'checkout':
    case 'restore':
    case 'switch':
      // The whole tree (`.`, `:/`, `*`, `-f`, `--discard-changes`): every uncommitted change is lost, with no reflog.
      if (values.some((v) => v === '.' || v === ':/' || v === '*' || v === './') || flag('--force', '-f', '--discard-changes'))
        site.add('vcs.destructive', 'high', ev(inv, 'discards all uncommitted changes'));
      if (values.length > 0) changes('changes the working tree');
      return {};
    case 'branch':
      if (flag('-D') || (flag('--delete', '-d') && flag('--force', '-f'))) site.add('vcs.destructive', 'medium', ev(inv, 'force-deletes a branch'));
      if (
        flag('-d', '-D', '--delete', '-m', '-M', '--move', '-c', '-C', '--copy', '-u', '--set-upstream-to', '--unset-upstream', '--edit-description', '-f', '--force') ||
        (operands.length > 0 && !flag('-l', '--list', '--contains', '--no-contains', '--merged', '--no-merged', '--points-at'))
      )
        changes('changes branches');
      return {};
    case 'tag':
      if (flag('-d', '--delete')) site.add('vcs.destructive', 'medium', ev(inv, 'deletes a tag'));
      if (operands.length > 0 && !flag('-l', '--list', '-v', '--verify', '--contains', '--no-contains', '--merged', '--no-merged', '--points-at')) changes('changes tags');
      return {};
    case 'stash':
      if (values[0] === 'clear' || values[0] === 'drop')
        site.add('vcs.destructive', values[0] === 'clear' ? 'high' : 'medium', ev(inv, values[0] === 'clear' ? 'drops all stashed work' : 'drops stashed work'));
      if (values[0] !== 'list' && values[0] !== 'show') changes('saves or restores work');
      return {};
    case 'remote':
      if (operands.length > 0 && !/^(show|get-url)$/.test(operands[0] ?? '')) changes('changes remotes');
      break;
    case 'worktree':
      if (operands[0] === 'remove' && flag('--force', '-f')) site.add('vcs.destructive', 'high', ev(inv, 'removes a worktree with its uncommitted changes'));
      if (operands.length > 0 && !/^(list)$/.test(operands[0] ?? '')) changes(`${operands[0] ?? ''} changes the repository`);
      return {};
    case 'notes':
    case 'bisect':
    case 'sparse-checkout':
    case 'lfs':
      if (operands.length > 0 && !/^(list|show|log|visualize|view|ls-files|status|env)$/.test(operands[0] ?? '')) changes(`${operands[0] ?? ''} changes the repository`);
      return {};
    case 'submodule':
      if (operands[0] === 'foreach') {
        const cmd = rest.slice(1).filter((a) => !/^(--recursive|-q|--quiet)$/.test(a.value));
        if (cmd.length > 0) site.shell(cmd.map((a) => a.value).join(' '), { ...inv, stdin: undefined });
      }
      if (operands.length > 0 && !/^(status|summary)$/.test(operands[0] ?? '')) changes('changes submodules');
      return {};
    case 'rm':
      if (!flag('--cached', '-n', '--dry-run'))
        deleteTargets(
          rest.filter((a) => !a.value.startsWith('-')),
          flag('-r') || short('r'),
          inv,
          site,
          'git rm of',
        );
      changes('removes files from the index');
      return {};
    case 'apply':
      if (!flag('--check', '--stat', '--numstat', '--summary')) changes('patches files');
      return {};
    case 'archive':
    case 'format-patch':
    case 'bundle': {
      const out = values.find((v) => /^--output(-directory)?=|^-o$/.test(v));
      if (out !== undefined || sub !== 'archive') changes('writes files');
      return {};
    }
    case 'credential':
      if (values[0] === 'fill') {
        site.add('secret.read', 'high', ev(inv, 'prints stored git credentials'));
        return { secret: true };
      }
      changes('changes stored credentials');
      return {};
    case 'filter-branch':
    case 'filter-repo':
      site.add('vcs.destructive', 'high', ev(inv, 'rewrites history'));
      return {};
    case 'reflog':
      if (values[0] === 'expire' || values[0] === 'delete') site.add('vcs.destructive', 'high', ev(inv, 'expires the reflog'));
      return {};
    case 'gc':
      if (values.some((v) => /^--prune=(now|all)/.test(v))) site.add('vcs.destructive', 'medium', ev(inv, 'prunes unreachable objects'));
      changes('rewrites the object store');
      return {};
    case 'update-ref':
      // A ref deleted with update-ref leaves no reflog entry to recover it from.
      if (flag('-d')) site.add('vcs.destructive', 'high', ev(inv, 'deletes a ref'));
      changes('changes a ref');
      return {};
    case 'config': {
      const global = flag('--global', '--system');
      const editing = flag('--unset', '--unset-all', '--remove-section', '--rename-section', '--edit', '-e', '--add', '--replace-all');
      const reading =
        !editing &&
        (flag('--get', '--get-all', '--list', '-l', '--get-regexp', '--show-origin', '--get-urlmatch', '--get-color', '--get-colorbool') || values.filter((v) => !v.startsWith('-')).length < 2);
      if (reading) return {};
      const key = values.find((v) => !v.startsWith('-')) ?? '';
      if (GIT_EXEC_KEYS.test(key)) site.add('fs.write_sensitive', 'high', ev(inv, `git config ${key} makes git run a program`));
      else if (global) site.add('fs.write_sensitive', 'medium', ev(inv, 'changes the global git config'));
      else changes('changes the repository config');
      return {};
    }
    default:
      break;
  }
  switch (sub) {
    case 'clone':
    case 'fetch':
    case 'pull':
    case 'ls-remote':
    case 'remote': {
      for (const v of values) {
        const host = /^[a-z]+:\/\//.test(v) ? urlHost(v) : /^[^@/\s]+@[^:]+:/.test(v) ? v.replace(/^.*@/, '').split(':')[0] : undefined;
        if (host !== undefined) egress(host, inv, site, false, `git ${sub}`);
      }
      if (sub === 'clone') changes('creates a repository');
      else if (sub === 'fetch' || sub === 'pull') {
        if (!flag('--dry-run')) changes('updates the repository');
      }
      return {};
    }
    default: {
      // Unknown subcommands (aliases, plumbing) may change the repository: fail closed.
      const finding = verbRow(GIT_VERBS, sub)?.finding;
      if (finding !== undefined) site.add(finding.category, finding.risk, ev(inv, `git ${sub} changes the repository`));
      return {};
    }
  }
};

const ghRule: ProgramRule = (inv, site) => {
  const words = inv.argv.slice(1).map((a) => a.value);
  if (
    (words[1] === 'delete' && /^(repo|release|secret|variable|gist|ssh-key|gpg-key|run|cache|label)$/.test(words[0] ?? '')) ||
    (words[0] === 'api' && words.some((w, k) => /^(-X|--method)$/.test(w) && /^DELETE$/i.test(words[k + 1] ?? '')))
  ) {
    site.add('vcs.destructive', 'high', ev(inv, 'deletes GitHub resources'));
  }
  if (words[0] === 'gist' && /^(create|new|edit)$/.test(words[1] ?? '')) {
    const files = inv.argv.slice(3).filter((a) => a.literal && !a.value.startsWith('-'));
    const secret = readFiles(files, inv, site).secret === true || inv.stdin?.secret === true;
    site.add('net.egress', secret ? 'critical' : 'high', ev(inv, 'uploads files to a GitHub gist'));
    if (secret) site.add('secret.read', 'critical', ev(inv, 'secrets uploaded to a gist'));
  }
  if (words[0] === 'auth' && words[1] === 'token') {
    site.add('secret.read', 'high', ev(inv, 'prints the GitHub token'));
    return { secret: true };
  }
  return {};
};

/** git and the GitHub CLI. */
export const GIT_PROGRAMS: ProgramFamily = {
  title: 'Version control',
  verbs: [GIT_VERBS],
  rules: [
    ['git', gitRule],
    ['gh', ghRule],
  ],
};
