/**
 * Package managers (npm, pip, apt …) and build tools (make, cmake …).
 */

import type { Risk } from '../../core/risk.js';
import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import { ev } from './effects.js';
import { opts } from './options.js';
import type { ProgramFamily } from './family.js';
import { isBareShell } from './shells.js';

const PKG_GLOBAL = /^(-g|--global|--location=global|-G)$/;

const PKG_INDEX = /^(-i|--index-url|--extra-index-url|--trusted-host|-f|--find-links|--registry|--source|--index|--default-index|--git)$/;

/** Package managers that run a command in the project's environment, and the options before it. */
const PROJECT_RUN: Record<string, { verbs: RegExp; valued: string; long: readonly string[] }> = {
  uv: { verbs: /^run$/, valued: 'pw', long: ['with', 'python', 'package', 'env-file', 'extra', 'group', 'directory', 'project', 'index', 'with-requirements', 'with-editable', 'default-index'] },
  poetry: { verbs: /^run$/, valued: 'PC', long: ['directory', 'project'] },
  pdm: { verbs: /^run$/, valued: 'pc', long: ['project', 'config'] },
  conda: { verbs: /^run$/, valued: 'np', long: ['name', 'prefix', 'cwd'] },
  mamba: { verbs: /^run$/, valued: 'np', long: ['name', 'prefix', 'cwd'] },
  pnpm: { verbs: /^exec$/, valued: 'C', long: ['dir', 'filter', 'workspace-concurrency'] },
  yarn: { verbs: /^exec$/, valued: '', long: [] },
};

export const pkgRule: ProgramRule = (inv, site) => {
  const name = inv.name;
  const args = inv.argv.slice(1);
  const values = args.map((a) => a.value);
  // apt/dpkg hooks given on the command line (`-o APT::Update::Pre-Invoke::=cmd`) run commands.
  for (const v of values) {
    const hook = /^(?:-o)?\s*(?:APT::[\w:-]*(?:Pre|Post)-Invoke[\w:-]*|DPkg::(?:Pre|Post)-Invoke[\w:-]*|DPkg::Pre-Install-Pkgs[\w:-]*|APT::Update::Post-Invoke-Success[\w:-]*)(?:::)?=(.*)$/i.exec(v);
    if (hook !== null) {
      site.add('exec.obfuscated', 'high', ev(inv, `${name} hook runs a command`));
      site.shell(hook[1] ?? '', { ...inv, stdin: undefined });
    }
  }
  const words = values.filter((v) => !v.startsWith('-'));
  const projectRun = PROJECT_RUN[name];
  if (projectRun?.verbs.test(words[0] ?? '')) {
    // `uv run cmd`, `pnpm exec cmd`, `conda run -n env cmd`: the command runs as itself.
    const at = args.findIndex((a) => a.value === words[0]);
    const o = opts(args.slice(at + 1), projectRun.valued, projectRun.long, true);
    return o.rest.length === 0 ? {} : site.run(o.rest, inv);
  }
  let verb = words[0] ?? '';
  let specs = words.slice(1);
  const official = /^(https?:\/\/)?(registry\.npmjs\.org|registry\.yarnpkg\.com|pypi\.org|files\.pythonhosted\.org|rubygems\.org|crates\.io)(\/|$)/;
  if (
    verb === 'config' &&
    /^(set|add)$/.test(words[1] ?? '') &&
    /registry|index-url|index|source|trusted-host|extra-index/i.test(words[2] ?? '') &&
    !official.test(words[3] ?? (words[2] ?? '').split('=')[1] ?? '')
  ) {
    site.add('pkg.install', 'high', ev(inv, `${name} config points installs at another registry`));
    return {};
  }
  if (name === 'yarn' && verb === 'global') {
    site.add('pkg.install', 'high', ev(inv, 'global package install'));
    return {};
  }
  if ((name === 'uv' || name === 'poetry' || name === 'pdm') && verb === 'pip') {
    verb = words[1] ?? '';
    specs = words.slice(2);
  }
  if (
    name === 'npx' ||
    name === 'bunx' ||
    name === 'pnpx' ||
    name === 'uvx' ||
    (name === 'pipx' && verb === 'run') ||
    (name === 'bun' && verb === 'x') ||
    ((name === 'pnpm' || name === 'yarn') && verb === 'dlx') ||
    (name === 'npm' && (verb === 'exec' || verb === 'x'))
  ) {
    const pkg = (name === 'npx' || name === 'bunx' || name === 'pnpx' || name === 'uvx' ? words[0] : words[1]) ?? '';
    const remote = /^(https?:|git\+|git:|github:|gitlab:|bitbucket:|file:)|^[\w.-]+\/[\w.-]+(#.*)?$/.test(pkg) && !pkg.startsWith('@');
    site.add('pkg.install', remote ? 'high' : 'medium', ev(inv, remote ? `runs a package from ${pkg}` : `runs package ${pkg}`));
    if (values.some((v) => PKG_INDEX.test(v.split('=')[0] ?? ''))) site.add('pkg.install', 'high', ev(inv, 'custom package index'));
    return {};
  }
  const INSTALL = /^(install|i|add|ci|in|isntall|update|upgrade|up|require|get|reinstall|localinstall|sync|-S|-U|-Syu|-i)$/;
  const sysMgr = /^(apt|apt-get|aptitude|yum|dnf|zypper|apk|pacman|snap|flatpak|port|emerge|xbps-install|nix-env|dpkg|rpm|choco|winget|scoop)$/.test(name);
  const installs =
    INSTALL.test(verb) ||
    (name === 'pacman' && values.some((v) => /^-S/.test(v))) ||
    ((name === 'dpkg' || name === 'rpm') && values.some((v) => /^-(i|U|-install)/.test(v))) ||
    (name === 'go' && verb === 'get') ||
    name === 'easy_install' ||
    // emerge and xbps-install take the packages without a verb; nix-env installs with -i.
    (name === 'emerge' && words.length > 0 && !values.some((v) => /^(-[a-zA-Z]*[psSCc][a-zA-Z]*|--(search|searchdesc|pretend|info|unmerge|depclean))$/.test(v))) ||
    (name === 'xbps-install' && words.length > 0) ||
    (name === 'nix-env' && values.some((v) => /^(-[a-zA-Z]*i[a-zA-Z]*|--install)$/.test(v)));
  if (/^(add-apt-repository|apt-key)$/.test(name)) {
    site.add('pkg.install', 'high', ev(inv, 'adds a package source'));
    return {};
  }
  if (!installs) {
    if (
      (/^(npm|pnpm|yarn|bun|cnpm)$/.test(name) && /^(run|run-script|rum|urn|test|tst|t|start|stop|restart|build|exec|rebuild)$/.test(verb)) ||
      (/^(yarn|pnpm)$/.test(name) &&
        verb !== '' &&
        !/^(info|why|list|ls|outdated|view|show|help|config|cache|audit|licenses|search|whoami|bin|root|prefix|version|-v|--version|--help)$/.test(verb) &&
        !/^(publish|unpublish|deprecate|undeprecate|push|yank|owner|dist-tag|access|upload|release|uninstall|remove|rm|r|un|unlink|erase|purge|autoremove|prune|dedupe|link|init|create|new|lock)$/.test(
          verb,
        ))
    ) {
      // Project scripts run arbitrary code that builds, formats and caches: a write.
      site.add('fs.write', 'low', ev(inv, `${name} ${verb} runs project scripts, which write`));
    } else if (/^(publish|unpublish|deprecate|undeprecate|push|yank|owner|dist-tag|access|upload|release)$/.test(verb) && !values.includes('--dry-run')) {
      // A write to a registry: another machine changes, so it is egress.
      const destructive = /^(unpublish|yank|deprecate)$/.test(verb);
      site.add('net.egress', destructive ? 'high' : 'medium', ev(inv, `${name} ${verb} changes a package registry`));
    } else if (/^(uninstall|remove|rm|r|un|unlink|erase|purge|autoremove|prune|dedupe|link|version|init|create|new|lock|rebuild|audit)$/.test(verb) && !(verb === 'audit' && !values.includes('fix'))) {
      site.add(
        /^(uninstall|remove|rm|r|un|erase|purge|autoremove)$/.test(verb) ? 'pkg.install' : 'fs.write',
        sysMgr || values.some((v) => PKG_GLOBAL.test(v)) ? 'high' : 'low',
        ev(inv, `${name} ${verb} changes installed packages or project files`),
      );
    }
    return {};
  }
  let risk: Risk = 'medium';
  let why = 'installs packages';
  if (values.some((v) => PKG_GLOBAL.test(v))) {
    risk = 'high';
    why = 'global package install';
  }
  if (values.some((v) => PKG_INDEX.test(v.split('=')[0] ?? '') && !(name === 'pip' && v === '-i' && false))) {
    const idx = values.findIndex((v) => PKG_INDEX.test(v.split('=')[0] ?? ''));
    const target = values[idx]?.includes('=') ? values[idx]?.split('=').slice(1).join('=') : values[idx + 1];
    if (!(name === 'dpkg' || name === 'rpm')) {
      risk = 'high';
      why = `custom package index ${target ?? ''}`;
    }
  }
  if (values.some((v) => /^--break-system-packages$|^--allow-unauthenticated$|^--force-yes$|^--nogpgcheck$|^--unsafe-perm$/.test(v))) {
    risk = 'high';
    why = 'install bypassing safety checks';
  }
  if (specs.some((s) => /^(https?:|git\+|git:|github:|gitlab:|bitbucket:|ssh:)/.test(s) || (/^[\w.-]+\/[\w.-]+(#.*)?$/.test(s) && (name === 'npm' || name === 'yarn' || name === 'pnpm')))) {
    risk = 'high';
    why = 'installs a package from a URL or repository';
  }
  // System packages change the machine for every user and run maintainer scripts as root.
  if (sysMgr && risk === 'medium' && !/^(update|-Sy)$/.test(verb)) {
    risk = 'high';
    why = 'installs system packages';
  }
  site.add('pkg.install', risk, ev(inv, why));
  return {};
};

/** go and cargo build and run project code; only their install and publish verbs are package operations. */
const packageManagerRule: ProgramRule = (inv, site) => {
  if ((inv.name === 'go' || inv.name === 'cargo') && /^(build|run|test|bench|generate|fix|clean|fmt|doc|vet|update|new|init|mod|work)$/.test(inv.argv[1]?.value ?? '')) {
    if (!(inv.name === 'go' && /^(vet|doc)$/.test(inv.argv[1]?.value ?? ''))) site.add('fs.write', 'low', ev(inv, `${inv.name} ${inv.argv[1]?.value ?? ''} builds or runs project code, which writes`));
    return {};
  }
  if (inv.name === 'go' && !/^(install|get)$/.test(inv.argv[1]?.value ?? '')) return {};
  if (inv.name === 'cargo' && !/^(install|publish|yank|owner|uninstall)$/.test(inv.argv[1]?.value ?? '')) return {};
  return pkgRule(inv, site);
};

const buildRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.some((v) => /^(-n|--dry-run|--just-print|--recon|-q|--question|-p|--print-data-base|--version|--help|-h|query|--query)$/.test(v))) return {};
  site.add('fs.write', 'low', ev(inv, `${inv.name} runs build recipes, which write`));
  if (inv.name === 'make' || inv.name === 'gmake') makeRecipes(inv, site);
  return {};
};

/**
 * make runs its recipes with the shell: recipes given on the command line (`--eval`), in a
 * makefile whose text was written earlier on the line, and a replaced `SHELL`.
 */
function makeRecipes(inv: Invocation, site: Site): void {
  const args = inv.argv.slice(1);
  const texts: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const v = (args[i] as Arg).value;
    if (v === '--eval' || v === '-E') texts.push(args[++i]?.value ?? '');
    else if (v.startsWith('--eval=')) texts.push(v.slice(7));
    else if (v === '-f' || v === '--file' || v === '--makefile') file = args[++i]?.value;
    else if (/^--(file|makefile)=/.test(v)) file = v.replace(/^--[a-z]+=/, '');
    else if (/^-f./.test(v)) file = v.slice(2);
    else if (/^(SHELL|MAKESHELL|\.SHELLFLAGS)=/.test(v)) site.add('exec.obfuscated', 'high', ev(inv, `make with ${v.split('=')[0] ?? ''} replaced`));
  }
  if (texts.length > 0) site.add('exec.obfuscated', 'medium', ev(inv, 'make --eval runs recipes given on the command line'));
  for (const f of file !== undefined ? [file] : ['GNUmakefile', 'makefile', 'Makefile']) {
    const text = site.scriptText(f);
    if (text !== undefined) {
      texts.push(text);
      break;
    }
  }
  let lines = 0;
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (!line.startsWith('\t') || lines++ >= 64) continue;
      const cmd = line.replace(/^\t[-@+\s]*/, '');
      if (
        isBareShell(
          cmd
            .split(/\s+/)
            .filter((w) => w !== '')
            .map(lit),
        )
      )
        site.add('exec.obfuscated', 'high', ev(inv, 'make recipe starts an interactive shell'));
      site.shell(cmd, { ...inv, stdin: undefined });
    }
  }
}

/** Package managers of languages and systems, and build tools. */
export const PACKAGE_PROGRAMS: ProgramFamily = {
  title: 'Packages and builds',
  rules: [
    [
      'npm pnpm yarn cnpm npx bunx pnpx pip pip3 pipx uv uvx poetry pdm conda mamba easy_install gem cargo go composer apt apt-get aptitude yum dnf zypper apk pacman snap flatpak brew port emerge xbps-install nix-env dpkg rpm choco winget scoop add-apt-repository apt-key',
      packageManagerRule,
    ],
    ['make gmake cmake ninja meson bazel gradle mvn ant', buildRule],
  ],
};
