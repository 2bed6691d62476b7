/**
 * The system: processes, services, power, users and privileges, schedulers, disks and
 * mounts, the firewall, the kernel, security controls, secret stores.
 */

import type { ProgramRule } from '../shell-types.js';
import { ev, noop, readFiles } from './effects.js';
import { type ProgramFamily, type VerbTable, verbRow } from './family.js';
import { opts } from './options.js';

const killRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (args.some((a) => a === '-l' || a === '-L' || a === '--list')) return {};
  const targets = inv.argv.slice(1).filter((a, k) => !a.value.startsWith('-') || (/^-\d+$/.test(a.value) && k > 0 && (args.slice(0, k).some((p) => /^-/.test(p)) || a.value === '-1')));
  const all = args.includes('-1') && (args.indexOf('-1') > 0 || args.length === 1 || args.length >= 1);
  if (all && targets.some((t) => t.value === '-1')) {
    site.add('proc.kill', 'critical', ev(inv, 'kills every process'));
    return {};
  }
  if (targets.some((t) => t.value === '1')) {
    site.add('proc.kill', 'critical', ev(inv, 'kills init'));
    return {};
  }
  site.add('proc.kill', 'medium', ev(inv, 'kills a process'));
  return {};
};

const pkillRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (inv.name === 'killall5' || args.some((a) => a === '-u' || a === '--user' || a === '.' || a === '.*')) site.add('proc.kill', 'critical', ev(inv, 'kills processes wholesale'));
  else site.add('proc.kill', 'high', ev(inv, 'kills processes by name'));
  return {};
};

/** systemctl verbs: reads, then what stops the machine; any other verb changes a unit. */
export const SYSTEMCTL_VERBS: VerbTable = {
  program: 'systemctl',
  rows: [
    {
      verbs: [
        '',
        'status',
        'show',
        'list-units',
        'list-unit-files',
        'list-sockets',
        'list-timers',
        'list-jobs',
        'list-dependencies',
        'is-active',
        'is-enabled',
        'is-failed',
        'is-system-running',
        'cat',
        'help',
        'get-default',
        'show-environment',
      ],
      why: 'reads units and the system state',
    },
    {
      verbs: ['poweroff', 'reboot', 'halt', 'kexec', 'rescue', 'emergency', 'isolate', 'suspend', 'hibernate', 'default'],
      finding: { category: 'service.control', risk: 'critical' },
      why: 'stops, reboots or isolates the machine',
    },
  ],
  otherwise: { finding: { category: 'service.control', risk: 'high' }, why: 'starts, stops, enables, masks or edits a unit' },
};

const systemctlRule: ProgramRule = (inv, site) => {
  const verb = inv.argv.slice(1).find((a) => !a.value.startsWith('-'))?.value ?? '';
  const finding = verbRow(SYSTEMCTL_VERBS, verb)?.finding;
  if (finding !== undefined) site.add(finding.category, finding.risk, ev(inv, `systemctl ${verb}`));
  return {};
};

const serviceRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (args.includes('--status-all') || args[1] === 'status' || args.length < 2) return {};
  site.add('service.control', 'high', ev(inv, `service ${args.join(' ')}`));
  return {};
};

const powerRule: ProgramRule = (inv, site) => {
  if (inv.name === 'init' || inv.name === 'telinit') {
    const level = inv.argv[1]?.value ?? '';
    if (!/^[06sS1]$/.test(level)) return {};
  }
  if (inv.name === 'shutdown' && inv.argv.some((a) => a.value === '-c')) return {};
  site.add('service.control', 'critical', ev(inv, 'shuts down or reboots the machine'));
  return {};
};

const privRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  const name = inv.name;
  if (name === 'usermod' || name === 'gpasswd' || name === 'adduser') {
    const joined = values.join(' ');
    if (/\b(sudo|wheel|admin|root|docker|lxd|disk|shadow)\b/.test(joined)) {
      site.add('priv.escalate', 'critical', ev(inv, 'adds a user to a privileged group'));
      return {};
    }
  }
  if (name === 'visudo' || name === 'setcap' || (name === 'nsenter' && values.some((v) => /^(-t|--target)$/.test(v) || /^--target=1$|^-t1$/.test(v)))) {
    site.add('priv.escalate', 'critical', ev(inv, name === 'setcap' ? 'grants file capabilities' : name === 'visudo' ? 'edits sudoers' : 'enters the host namespaces'));
    if (name === 'nsenter') {
      const dash = values.indexOf('--');
      const inner = dash >= 0 ? inv.argv.slice(dash + 2) : [];
      if (inner.length > 0) site.run(inner, inv);
    }
    return {};
  }
  site.add('priv.escalate', 'high', ev(inv, `${name}`));
  return {};
};

const crontabRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.includes('-l')) return {};
  if (values.includes('-r')) {
    site.add('fs.delete', 'high', ev(inv, 'removes the crontab'));
    return {};
  }
  site.add('fs.write_sensitive', 'high', ev(inv, 'installs a crontab'));
  if (inv.stdin?.text !== undefined) {
    for (const line of inv.stdin.text.split('\n')) {
      const cmd = line.trim().split(/\s+/).slice(5).join(' ');
      if (cmd !== '' && !line.trim().startsWith('#')) site.shell(cmd, { ...inv, stdin: undefined });
    }
  }
  return {};
};

const atRule: ProgramRule = (inv, site) => {
  if (inv.argv.slice(1).some((a) => a.value === '-l')) return {};
  site.add('fs.write_sensitive', 'medium', ev(inv, 'schedules a job'));
  if (inv.stdin?.text !== undefined) site.shell(inv.stdin.text, { ...inv, stdin: undefined });
  return {};
};

const secretToolRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  const name = inv.name;
  const reads =
    (name === 'security' && values.some((v) => /^(find-generic-password|find-internet-password|dump-keychain|export)$/.test(v))) ||
    (name === 'gpg' && values.some((v) => /^--export-secret-(sub)?keys$/.test(v))) ||
    (name === 'pass' && (values[0] === 'show' || (values.length > 0 && !/^(ls|list|find|search|init|insert|generate|edit|rm|mv|cp|git|help|version)$/.test(values[0] ?? '')))) ||
    (name === 'op' && /^(read|item|document)$/.test(values[0] ?? '') && !values.includes('list')) ||
    (name === 'keyctl' && /^(print|pipe|read)$/.test(values[0] ?? '')) ||
    (name === 'secret-tool' && values[0] === 'lookup') ||
    name === 'aws-vault';
  // `aws-vault exec PROFILE [-- ] cmd`, `op run [options] -- cmd`: the command gets the secrets in its environment.
  const runs = (name === 'aws-vault' && values[0] === 'exec') || (name === 'op' && values[0] === 'run');
  if (runs) {
    site.add('secret.read', 'high', ev(inv, `${name} passes secrets to a command`));
    const args = inv.argv.slice(2);
    const sep = args.findIndex((a) => a.value === '--');
    const command = sep >= 0 ? args.slice(sep + 1) : name === 'aws-vault' ? opts(args, 'd', ['duration', 'region', 'mfa-token', 'prompt'], true).rest.slice(1) : [];
    if (command.length > 0) site.run(command, inv);
    return {};
  }
  if (reads) {
    site.add('secret.read', 'high', ev(inv, `${name} reveals secrets`));
    return { secret: true };
  }
  return {};
};

const mountRule: ProgramRule = (inv, site) => {
  if (inv.argv.length === 1 || inv.argv.slice(1).every((a) => /^-(l|t|a)$/.test(a.value))) return {};
  site.add('priv.escalate', 'high', ev(inv, `${inv.name} changes mounts`));
  return {};
};

export const diskRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1).map((a) => a.value);
  if (inv.name === 'cryptsetup') {
    const verb = args.find((a) => !a.startsWith('-')) ?? '';
    if (/^(luksDump|status|isLuks|luksUUID|tcryptDump|bitlkDump|fvault2Dump|benchmark|--version|--help)$/.test(verb) || args.length === 0 || args.every((a) => a.startsWith('-'))) return {};
    if (/^(open|luksOpen|close|luksClose|plainOpen|loopaesOpen|tcryptOpen|bitlkOpen|resize|refresh|luksSuspend|luksResume)$/.test(verb)) {
      site.add('priv.escalate', 'high', ev(inv, `cryptsetup ${verb} maps an encrypted device`));
      return {};
    }
    if (/^(luksHeaderBackup|luksAddKey|luksChangeKey|luksConvertKey|token|config|luksHeaderRestore)$/.test(verb)) {
      site.add('secret.read', 'high', ev(inv, `cryptsetup ${verb} handles the volume's keys`));
      return {};
    }
  }
  if ((inv.name === 'fdisk' || inv.name === 'sfdisk' || inv.name === 'parted' || inv.name === 'sgdisk') && args.some((a) => /^(-l|--list|-s|--print|print|-p)$/.test(a))) return {};
  const dev = args.find((a) => a.startsWith('/dev/')) ?? args.at(-1) ?? '';
  site.add('disk.wipe', 'critical', ev(inv, `formats or repartitions ${dev}`));
  return {};
};

const firewallRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.length === 0 || values.some((v) => /^(-L|--list|-S|--list-rules|status|show|list|--state|--list-all)$/.test(v))) return {};
  const opens = values.some(
    (v, k) =>
      (/^(-P|--policy)$/.test(v) && /^ACCEPT$/i.test(values[k + 2] ?? '')) ||
      (v === '-j' && /^ACCEPT$/i.test(values[k + 1] ?? '') && !values.some((w) => /^(-s|--source|-p|--protocol|--dport|-m)$/.test(w))),
  );
  site.add(
    'service.control',
    opens || values.some((v) => /^(-F|--flush|disable|flush|stop|-X|reset)$/.test(v)) ? 'high' : 'medium',
    ev(inv, opens ? `${inv.name} opens the firewall to all traffic` : `${inv.name} changes the firewall`),
  );
  return {};
};

const sysctlRule: ProgramRule = (inv, site) => {
  if (inv.argv.slice(1).some((a) => a.value === '-w' || a.value.includes('='))) site.add('fs.write_sensitive', 'high', ev(inv, 'changes kernel settings'));
  return {};
};

export const LAUNCHCTL_VERBS: VerbTable = {
  program: 'launchctl',
  rows: [
    {
      verbs: ['unload', 'remove', 'stop', 'bootout', 'disable', 'kill', 'load', 'bootstrap', 'enable', 'submit'],
      finding: { category: 'service.control', risk: 'high' },
      why: 'loads, starts, stops or removes a service',
    },
  ],
  otherwise: { why: 'reads (`list`, `print` …)' },
};

const launchctlRule: ProgramRule = (inv, site) => {
  const verb = inv.argv[1]?.value ?? '';
  const finding = verbRow(LAUNCHCTL_VERBS, verb)?.finding;
  if (finding !== undefined) site.add(finding.category, finding.risk, ev(inv, `launchctl ${verb}`));
  return {};
};

export const SUPERVISOR_VERBS: VerbTable = {
  program: 'pm2, supervisorctl',
  rows: [
    {
      verbs: ['stop', 'delete', 'kill', 'restart', 'reload', 'remove', 'shutdown'],
      finding: { category: 'service.control', risk: 'high' },
      why: 'stops, restarts or removes supervised processes',
    },
  ],
  otherwise: { why: 'reads or starts (`status`, `list`, `start` …)' },
};

/** pm2, supervisorctl: process supervisors. */
const supervisorRule: ProgramRule = (inv, site) => {
  const verb = inv.argv[1]?.value ?? '';
  const finding = verbRow(SUPERVISOR_VERBS, verb)?.finding;
  if (finding !== undefined) site.add(finding.category, finding.risk, ev(inv, `${inv.name} ${verb}`));
  return {};
};

const modprobeRule: ProgramRule = (inv, site) => {
  if (inv.argv.length > 1) site.add('priv.escalate', 'high', ev(inv, 'loads or removes kernel modules'));
  return {};
};

/** Password crackers and credential dumpers. */
const crackerRule: ProgramRule = (inv, site) => {
  site.add('secret.read', 'high', ev(inv, `${inv.name} recovers or guesses passwords`));
  readFiles(
    inv.argv.slice(1).filter((a) => a.literal && !a.value.startsWith('-')),
    inv,
    site,
  );
  return { secret: true };
};

const setenforceRule: ProgramRule = (inv, site) => {
  const mode = inv.argv[1]?.value ?? '';
  if (/^(0|permissive)$/i.test(mode)) site.add('service.control', 'high', ev(inv, 'turns SELinux enforcement off'));
  else if (mode !== '') site.add('service.control', 'medium', ev(inv, 'changes the SELinux mode'));
  return {};
};

const auditctlRule: ProgramRule = (inv, site) => {
  const values = inv.argv.slice(1).map((a) => a.value);
  if (values.length === 0 || values.every((v) => /^(-l|-s|-v|-h|--help|-m)$/.test(v) || !v.startsWith('-'))) return {};
  const blinds = values.some(
    (v, k) => v === '-D' || v === '-d' || v === '-W' || (v === '-e' && values[k + 1] === '0') || (v === '-a' && /never/.test(values[k + 1] ?? '')) || /^never,|,never$/.test(v),
  );
  site.add('service.control', blinds ? 'high' : 'medium', ev(inv, blinds ? 'disables or removes audit rules' : 'changes audit rules'));
  return {};
};

const fuserRule: ProgramRule = (inv, site) => {
  if (inv.argv.slice(1).some((a) => /^-[a-zA-Z]*k/.test(a.value) || a.value === '--kill')) site.add('proc.kill', 'high', ev(inv, 'kills every process using a file or port'));
  return {};
};

const journalctlRule: ProgramRule = (inv, site) => {
  if (inv.argv.slice(1).some((a) => /^--(vacuum-(size|time|files)|rotate|flush)/.test(a.value))) site.add('fs.delete', 'high', ev(inv, 'deletes or rotates away the system journal'));
  return {};
};

/** Processes, services, power, users and privileges, schedulers, disks, mounts, the kernel, security controls. */
export const SYSTEM_PROGRAMS: ProgramFamily = {
  title: 'System',
  verbs: [SYSTEMCTL_VERBS, LAUNCHCTL_VERBS, SUPERVISOR_VERBS],
  rules: [
    ['mkfs mkfs.ext4 mkfs.ext3 mkfs.ext2 mkfs.xfs mkfs.btrfs mkfs.vfat mkfs.fat mkfs.ntfs mke2fs mkswap wipefs blkdiscard fdisk sfdisk sgdisk parted cfdisk hdparm cryptsetup', diskRule],
    ['kill', killRule],
    ['pkill killall killall5 skill slay', pkillRule],
    ['systemctl', systemctlRule],
    ['service', serviceRule],
    ['shutdown reboot halt poweroff init telinit', powerRule],
    ['launchctl', launchctlRule],
    ['pm2 supervisorctl', supervisorRule],
    ['useradd usermod userdel groupadd groupdel gpasswd passwd chpasswd adduser deluser visudo setcap nsenter newgrp chattr', privRule],
    ['crontab', crontabRule],
    ['at batch', atRule],
    ['security gpg pass op keyctl secret-tool aws-vault', secretToolRule],
    ['mount umount losetup', mountRule],
    ['iptables ip6tables nft ufw firewall-cmd', firewallRule],
    ['sysctl', sysctlRule],
    ['modprobe insmod rmmod', modprobeRule],
    ['unshadow john hashcat hydra medusa ncrack mimipenguin laZagne lazagne', crackerRule],
    ['setenforce', setenforceRule],
    ['auditctl', auditctlRule],
    ['fuser', fuserRule],
    ['journalctl', journalctlRule],
    [
      'whoami id uname date uptime free sleep hostname df ps top htop seq yes basename dirname realpath readlink tput clear reset lsblk lscpu lsof ss netstat ip ifconfig nproc getconf locale tty',
      noop,
    ],
  ],
};
