/**
 * Container engines (docker, podman …), Kubernetes (kubectl) and helm.
 */

import { type Arg, type Invocation, lit, type ProgramRule, type Site } from '../shell-types.js';
import type { SubOutput } from '../shell-words.js';
import { classifyWrite, ev } from './effects.js';
import type { ProgramFamily } from './family.js';
import { has, opts, val } from './options.js';

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
  if (/^(run|create)$/.test(sub)) {
    site.add('service.control', 'low', ev(inv, `${inv.name} ${sub} starts a container`));
    return containerRun(inv, site, rest);
  }
  if (/^(build|pull|tag|commit|load|import|buildx|image build|image pull|image tag|image load|image import|volume create|network create|compose build|compose pull)$/.test(sub)) {
    site.add('fs.write', 'low', ev(inv, `${inv.name} ${sub} changes local images, volumes or networks`));
  }
  if (sub === 'exec') {
    const o = opts(rest, 'euwi', ['env', 'user', 'workdir', 'env-file', 'detach-keys'], true);
    const container = o.rest[0];
    if (has(o, 'privileged')) site.add('priv.escalate', 'high', ev(inv, 'privileged exec'));
    const cmd = o.rest.slice(1);
    if (cmd.length > 0) site.run(cmd, { ...inv, remote: `container:${container?.value ?? '?'}` });
    return {};
  }
  if (
    /^(stop|kill|rm|rmi|restart|pause|unpause|system prune|volume rm|volume prune|network rm|network prune|prune|image prune|compose down|compose stop|compose rm|compose kill|compose restart|compose pause|service rm|stack rm|swarm leave|node rm|secret rm|builder prune)$/.test(
      sub,
    )
  ) {
    const wipesData =
      /volume|system prune/.test(sub) || (sub === 'compose down' && rest.some((a) => a.value === '-v' || a.value === '--volumes')) || (sub === 'rm' && rest.some((a) => /^-[a-z]*v/.test(a.value)));
    site.add('service.control', 'high', ev(inv, `${inv.name} ${sub}`));
    if (wipesData) site.add('fs.delete', 'high', ev(inv, 'removes container volumes'));
    return {};
  }
  if (/^(compose up|compose start|start|update|service create|service update|service scale|stack deploy)$/.test(sub)) {
    site.add('service.control', 'medium', ev(inv, `${inv.name} ${sub}`));
    return {};
  }
  if (sub === 'push') site.add('net.egress', 'medium', ev(inv, 'pushes an image'));
  if (sub === 'login') site.add('secret.read', 'medium', ev(inv, 'registry login'));
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

const KUBECTL_READ = /^(get|describe|logs|top|explain|version|api-resources|api-versions|cluster-info|diff|auth|wait|events|completion|plugin|kustomize|options|help|)$/;

const kubectlRule: ProgramRule = (inv, site) => {
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
  if (KUBECTL_READ.test(sub)) return {};
  if (sub === 'port-forward' || sub === 'proxy') {
    site.add('net.listen', 'medium', ev(inv, `kubectl ${sub}`));
    return {};
  }
  if (sub === 'delete') {
    const wide = rest.some((a) => /^(ns|namespace|namespaces|node|nodes|pv|crd|--all|-A|--all-namespaces)$/.test(a.value) || /^(ns|namespace)\//.test(a.value));
    site.add('service.control', wide ? 'critical' : 'high', ev(inv, 'kubectl delete'));
    return {};
  }
  if (/^(drain|cordon|uncordon|taint|scale|rollout|autoscale)$/.test(sub)) {
    site.add('service.control', 'high', ev(inv, `kubectl ${sub}`));
    return {};
  }
  if (sub === 'cp') return {};
  site.add('cloud.mutate', 'high', ev(inv, `kubectl ${sub}`));
  return {};
};

const helmRule: ProgramRule = (inv, site) => {
  const sub = inv.argv.slice(1).find((a) => !a.value.startsWith('-'))?.value ?? '';
  if (/^(uninstall|delete|del|un)$/.test(sub)) site.add('service.control', 'high', ev(inv, `helm ${sub}`));
  else if (/^(install|upgrade|rollback)$/.test(sub)) site.add('cloud.mutate', 'high', ev(inv, `helm ${sub}`));
  return {};
};

/** docker-compose is `docker compose`. */
const containerCliRule: ProgramRule = (inv, site) =>
  inv.name === 'docker-compose' ? dockerRule({ ...inv, argv: [lit('docker'), lit('compose'), ...inv.argv.slice(1)] }, site) : dockerRule(inv, site);

/** Container engines, Kubernetes and helm. */
export const CONTAINER_PROGRAMS: ProgramFamily = {
  title: 'Containers and Kubernetes',
  rules: [
    ['docker podman nerdctl docker-compose', containerCliRule],
    ['kubectl oc k3s microk8s.kubectl', kubectlRule],
    ['helm', helmRule],
  ],
};
