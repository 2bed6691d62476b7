/**
 * Container engines (docker, podman …), Kubernetes (kubectl) and helm.
 */

import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { classifyWrite, ev } from './effects.js';
import { type ProgramFamily, type VerbRow, type VerbTable, verbRow } from './family.js';
import { has, opts, val } from './options.js';

const DOCKER_RUN = {
  verbs: ['run', 'create'],
  finding: { category: 'service.control', risk: 'low' },
  why: 'starts a container; privileged runs, host mounts and published ports are judged on the flags',
} as const satisfies VerbRow;
const DOCKER_BUILD = {
  verbs: [
    'build',
    'pull',
    'tag',
    'commit',
    'load',
    'import',
    'buildx',
    'image build',
    'image pull',
    'image tag',
    'image load',
    'image import',
    'volume create',
    'network create',
    'compose build',
    'compose pull',
  ],
  finding: { category: 'fs.write', risk: 'low' },
  why: 'changes local images, volumes or networks',
} as const satisfies VerbRow;
const DOCKER_STOP = {
  verbs: [
    'stop',
    'kill',
    'rm',
    'rmi',
    'restart',
    'pause',
    'unpause',
    'system prune',
    'volume rm',
    'volume prune',
    'network rm',
    'network prune',
    'prune',
    'image prune',
    'compose down',
    'compose stop',
    'compose rm',
    'compose kill',
    'compose restart',
    'compose pause',
    'service rm',
    'stack rm',
    'swarm leave',
    'node rm',
    'secret rm',
    'builder prune',
  ],
  finding: { category: 'service.control', risk: 'high' },
  why: 'stops or removes containers, images, networks or services; removing volumes (`volume rm`, `system prune`, `rm -v`, `compose down -v`) is also `fs.delete` high',
} as const satisfies VerbRow;
const DOCKER_START = {
  verbs: ['compose up', 'compose start', 'start', 'update', 'service create', 'service update', 'service scale', 'stack deploy'],
  finding: { category: 'service.control', risk: 'medium' },
  why: 'starts or updates containers and services',
} as const satisfies VerbRow;
const DOCKER_PUSH = { verbs: ['push'], finding: { category: 'net.egress', risk: 'medium' }, why: 'pushes an image to a registry' } as const satisfies VerbRow;
const DOCKER_LOGIN = { verbs: ['login'], finding: { category: 'secret.read', risk: 'medium' }, why: 'logs in to a registry' } as const satisfies VerbRow;

/** docker verbs (`container`, `image` and the other groups folded: `docker container rm` is `rm`, `docker image rm` is `rmi`). */
export const DOCKER_VERBS: VerbTable = {
  program: 'docker, podman, nerdctl',
  rows: [DOCKER_RUN, DOCKER_BUILD, DOCKER_STOP, DOCKER_START, DOCKER_PUSH, DOCKER_LOGIN],
  otherwise: { why: 'reads (`ps`, `images`, `logs`, `inspect` …)' },
  notes: ['`exec` runs its command as a command of its own', '`cp` to the host is a write there'],
};

const dockerRule: ProgramRule = (inv, site) => {
  const args = inv.argv.slice(1);
  let i = 0;
  while (i < args.length && (args[i] as Arg).value.startsWith('-')) i += /^(-H|--host|--context|-c|--config|-l|--log-level)$/.test((args[i] as Arg).value) ? 2 : 1;
  let sub = args[i]?.value ?? '';
  let rest = args.slice(i + 1);
  if (['container', 'image', 'volume', 'network', 'system', 'builder', 'compose', 'service', 'stack', 'node', 'secret', 'plugin'].includes(sub) && rest[0] !== undefined) {
    const group = sub;
    sub = `${group} ${rest[0].value}`;
    rest = rest.slice(1);
    if (group === 'container' || group === 'image') sub = rest.length >= 0 ? (sub.split(' ')[1] ?? '') : sub;
    if (group === 'image' && sub === 'rm') sub = 'rmi';
    if (group === 'image' && sub === 'prune') sub = 'image prune';
  }
  const row = verbRow(DOCKER_VERBS, sub);
  if (row === DOCKER_RUN) {
    site.add(DOCKER_RUN.finding.category, DOCKER_RUN.finding.risk, ev(inv, `${inv.name} ${sub} starts a container`));
    return containerRun(inv, site, rest);
  }
  if (sub === 'exec') {
    const o = opts(rest, 'euwi', ['env', 'user', 'workdir', 'env-file', 'detach-keys'], true);
    const container = o.rest[0];
    if (has(o, 'privileged')) site.add('priv.escalate', 'high', ev(inv, 'privileged exec'));
    const cmd = o.rest.slice(1);
    if (cmd.length > 0) site.run(cmd, { ...inv, remote: `container:${container?.value ?? '?'}` });
    return {};
  }
  if (row?.finding !== undefined) {
    const evidence =
      row === DOCKER_BUILD ? `${inv.name} ${sub} changes local images, volumes or networks` : row === DOCKER_PUSH ? 'pushes an image' : row === DOCKER_LOGIN ? 'registry login' : `${inv.name} ${sub}`;
    site.add(row.finding.category, row.finding.risk, ev(inv, evidence));
    const wipesData =
      /volume|system prune/.test(sub) || (sub === 'compose down' && rest.some((a) => a.value === '-v' || a.value === '--volumes')) || (sub === 'rm' && rest.some((a) => /^-[a-z]*v/.test(a.value)));
    if (row === DOCKER_STOP && wipesData) site.add('fs.delete', 'high', ev(inv, 'removes container volumes'));
    if (row === DOCKER_STOP || row === DOCKER_START) return {};
  }
  if (sub === 'cp') {
    const dest = rest.filter((a) => !a.value.startsWith('-')).at(-1);
    if (dest !== undefined && !dest.value.includes(':')) classifyWrite(dest, site, inv.text);
  }
  return {};
};

function containerRun(inv: Invocation, site: Site, rest: Arg[]): SubOutput {
  const o = opts(
    rest,
    'ehlpuvwmc',
    [
      'env',
      'volume',
      'mount',
      'name',
      'network',
      'net',
      'user',
      'workdir',
      'publish',
      'entrypoint',
      'pid',
      'ipc',
      'uts',
      'userns',
      'cap-add',
      'security-opt',
      'device',
      'label',
      'memory',
      'cpus',
      'env-file',
      'platform',
      'restart',
      'hostname',
      'add-host',
      'tmpfs',
      'ulimit',
      'health-cmd',
      'log-driver',
      'gpus',
      'shm-size',
      'cgroupns',
      'dns',
    ],
    true,
  );
  const volumes = [...rest.entries()]
    .filter(([k, a]) => ['-v', '--volume', '--mount'].includes(a.value) || /^--(volume|mount)=/.test(a.value) || (/^-v./.test(a.value) && k >= 0))
    .map(([k, a]) => (a.value.includes('=') ? a.value.split('=').slice(1).join('=') : /^-v./.test(a.value) ? a.value.slice(2) : (rest[k + 1]?.value ?? '')));
  const dangerousMount = volumes.some((v) => /^(\/|\/etc|\/root|\/var\/run\/docker\.sock|\/run\/docker\.sock|\/proc|\/sys|\/dev|\/boot|\/usr|\/home)(:|$)|source=\/(,|$)|src=\/(,|$)/.test(v));
  const flagValue = (name: string) => val(o, name)?.value ?? '';
  if (
    has(o, 'privileged') ||
    dangerousMount ||
    /host/.test(flagValue('pid')) ||
    /SYS_ADMIN|ALL|SYS_PTRACE|SYS_MODULE/.test(flagValue('cap-add')) ||
    /unconfined/.test(flagValue('security-opt')) ||
    /host/.test(flagValue('userns'))
  ) {
    site.add('priv.escalate', 'critical', ev(inv, 'privileged container or host root mounted'));
  } else if (volumes.some((v) => v.startsWith('/') && !v.startsWith('/tmp'))) {
    site.add('fs.write', 'medium', ev(inv, 'container mounts a host directory'));
  }
  if (has(o, 'p', 'publish', 'P')) site.add('net.listen', 'medium', ev(inv, 'publishes a container port'));
  const image = o.rest[0];
  const cmd = o.rest.slice(1);
  if (cmd.length > 0) site.run(cmd, { ...inv, remote: `container:${image?.value ?? '?'}` });
  return {};
}

export const KUBECTL_VERBS: VerbTable = {
  program: 'kubectl, oc',
  rows: [
    {
      verbs: [
        '',
        'get',
        'describe',
        'logs',
        'top',
        'explain',
        'version',
        'api-resources',
        'api-versions',
        'cluster-info',
        'diff',
        'auth',
        'wait',
        'events',
        'completion',
        'plugin',
        'kustomize',
        'options',
        'help',
        'cp',
      ],
      why: 'reads the cluster (`get secrets` is `secret.read` high) or copies files',
    },
    { verbs: ['port-forward', 'proxy'], finding: { category: 'net.listen', risk: 'medium' }, why: 'opens a local port into the cluster' },
    { verbs: ['delete'], finding: { category: 'service.control', risk: 'high' }, why: 'deletes resources; namespaces, nodes, PVs, CRDs and `--all` critical' },
    { verbs: ['drain', 'cordon', 'uncordon', 'taint', 'scale', 'rollout', 'autoscale'], finding: { category: 'service.control', risk: 'high' }, why: 'moves or scales workloads' },
  ],
  otherwise: { finding: { category: 'cloud.mutate', risk: 'high' }, why: 'changes the cluster (`apply`, `create`, `patch`, `edit` …)' },
  notes: ['`exec` runs its command as a command of its own', '`create token` and `config view --raw` are `secret.read` high'],
};

const kubectlRule: ProgramRule = (inv, site) => {
  // `k3s kubectl …` is kubectl.
  if (inv.name === 'k3s' && inv.argv[1]?.value === 'kubectl') return kubectlRule({ ...inv, argv: inv.argv.slice(1) }, site);
  const o = opts(inv.argv.slice(1), 'ncolf', ['namespace', 'context', 'cluster', 'kubeconfig', 'output', 'selector', 'filename', 'container', 'user', 'server', 'token'], true);
  const sub = o.rest[0]?.value ?? '';
  const rest = o.rest.slice(1);
  const values = inv.argv.map((a) => a.value);
  if (sub === 'exec') {
    const dash = inv.argv.findIndex((a) => a.value === '--');
    const cmd = dash >= 0 ? inv.argv.slice(dash + 1) : [];
    if (cmd.length > 0) site.run(cmd, { ...inv, remote: `pod:${rest[0]?.value ?? '?'}` });
    return {};
  }
  if (sub === 'get' && rest.some((a) => /^secrets?$/.test(a.value) || /^secrets?\//.test(a.value))) {
    site.add('secret.read', 'high', ev(inv, 'reads Kubernetes secrets'));
    return { secret: true };
  }
  if (sub === 'create' && rest[0]?.value === 'token') {
    site.add('secret.read', 'high', ev(inv, 'issues a service-account token'));
    return { secret: true };
  }
  if (sub === 'config') {
    if (rest[0]?.value === 'view' && values.includes('--raw')) {
      site.add('secret.read', 'high', ev(inv, 'prints kubeconfig credentials'));
      return { secret: true };
    }
    return {};
  }
  const finding = verbRow(KUBECTL_VERBS, sub)?.finding;
  if (finding === undefined) return {};
  const wide = sub === 'delete' && rest.some((a) => /^(ns|namespace|namespaces|node|nodes|pv|crd|--all|-A|--all-namespaces)$/.test(a.value) || /^(ns|namespace)\//.test(a.value));
  site.add(finding.category, wide ? 'critical' : finding.risk, ev(inv, `kubectl ${sub}`));
  return {};
};

export const HELM_VERBS: VerbTable = {
  program: 'helm',
  rows: [
    { verbs: ['uninstall', 'delete', 'del', 'un'], finding: { category: 'service.control', risk: 'high' }, why: 'removes a release' },
    { verbs: ['install', 'upgrade', 'rollback'], finding: { category: 'cloud.mutate', risk: 'high' }, why: 'installs or changes a release' },
  ],
  otherwise: { why: 'reads, renders or manages charts locally' },
};

const helmRule: ProgramRule = (inv, site) => {
  const sub = inv.argv.slice(1).find((a) => !a.value.startsWith('-'))?.value ?? '';
  const finding = verbRow(HELM_VERBS, sub)?.finding;
  if (finding !== undefined) site.add(finding.category, finding.risk, ev(inv, `helm ${sub}`));
  return {};
};

/** docker-compose is `docker compose`. */
const containerCliRule: ProgramRule = (inv, site) =>
  inv.name === 'docker-compose' ? dockerRule({ ...inv, argv: [lit('docker'), lit('compose'), ...inv.argv.slice(1)] }, site) : dockerRule(inv, site);

/** Container engines, Kubernetes and helm. */
export const CONTAINER_PROGRAMS: ProgramFamily = {
  title: 'Containers and Kubernetes',
  verbs: [DOCKER_VERBS, KUBECTL_VERBS, HELM_VERBS],
  rules: [
    ['docker podman nerdctl docker-compose', containerCliRule],
    ['kubectl oc k3s microk8s.kubectl', kubectlRule],
    ['helm', helmRule],
  ],
};
