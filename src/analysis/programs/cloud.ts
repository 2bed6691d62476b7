/**
 * Infrastructure as code (terraform, pulumi …) and the cloud CLIs (aws, gcloud, az …): reads,
 * secrets and credentials, mutations and destroys.
 */

import type { ProgramRule } from '../shell-types.js';
import { ev, readFiles } from './effects.js';
import { type ProgramFamily, type VerbRow, type VerbTable, verbMatches, verbRow } from './family.js';

const IAC_DESTROY = { verbs: ['destroy'], finding: { category: 'cloud.mutate', risk: 'critical' }, why: 'destroys the infrastructure (so does `apply -destroy`)' } as const satisfies VerbRow;

/** terraform, tofu, terragrunt, pulumi, cdk verbs; two-word verbs (`state rm`) are looked up first. */
export const IAC_VERBS: VerbTable = {
  program: 'terraform, tofu, terragrunt, pulumi, cdk',
  rows: [
    IAC_DESTROY,
    {
      verbs: ['apply', 'deploy', 'import', 'taint', 'untaint', 'up', 'refresh', 'force-unlock', 'state rm', 'state mv', 'state push', 'state replace-provider', 'workspace delete'],
      finding: { category: 'cloud.mutate', risk: 'high' },
      why: 'changes the infrastructure or its state',
    },
  ],
  otherwise: { why: 'reads or plans (`plan`, `show`, `validate`, `output`, `state list` …)' },
};

const iacRule: ProgramRule = (inv, site) => {
  const words = inv.argv
    .slice(1)
    .map((a) => a.value)
    .filter((v) => !v.startsWith('-'));
  const sub = words[0] ?? '';
  const flags = inv.argv.map((a) => a.value);
  const row = IAC_VERBS.rows.find((r) => verbMatches(r, `${sub} ${words[1] ?? ''}`)) ?? verbRow(IAC_VERBS, sub);
  if (row === IAC_DESTROY || (sub === 'apply' && flags.includes('-destroy'))) site.add('cloud.mutate', 'critical', ev(inv, 'destroys infrastructure'));
  else if (row?.finding !== undefined) site.add(row.finding.category, row.finding.risk, ev(inv, `${inv.name} ${words.slice(0, 2).join(' ')}`));
  return {};
};

const CLOUD_READ = {
  verbs: [
    'describe',
    'list',
    'get',
    'head',
    'wait',
    'help',
    'ls',
    'batch-get',
    'scan',
    'query',
    'filter',
    'lookup',
    'search',
    'validate',
    'estimate',
    'preview',
    'simulate',
    'test',
    'decode',
    'generate',
    'presign',
    'show',
    'info',
    'version',
    'whoami',
    'status',
    'check',
    'print',
    'read',
    'view',
    'export',
    'log',
    'logs',
    'tail',
    'cat',
    'config',
    'auth',
    'account',
    'login',
    'init',
    'plan',
    'history',
    'inspect',
    'explain',
    'diff',
    'output',
    'find',
    'select',
    'download',
    'fetch',
  ],
  why: 'reads',
} as const satisfies VerbRow;
const CLOUD_DESTROY = {
  verbs: ['delete', 'destroy', 'remove', 'rm', 'rb', 'terminate', 'purge', 'drop', 'deregister', 'disable', 'detach', 'revoke', 'wipe', 'erase', 'kill', 'uninstall'],
  finding: { category: 'cloud.mutate', risk: 'high' },
  why: 'deletes or disables resources; critical when recursive or forced (`--recursive`, `--force`, `--all`, `--skip-final-snapshot`) or a whole bucket, database, stack, cluster, table, instance or project',
} as const satisfies VerbRow;
const CLOUD_MUTATE = {
  verbs: [
    'create',
    'put',
    'update',
    'modify',
    'run',
    'start',
    'stop',
    'reboot',
    'attach',
    'associate',
    'set',
    'add',
    'apply',
    'deploy',
    'import',
    'restore',
    'copy',
    'cp',
    'mv',
    'sync',
    'scale',
    'resize',
    'enable',
    'tag',
    'untag',
    'replace',
    'patch',
    'upload',
    'publish',
    'promote',
    'rollback',
    'invoke',
    'send',
    'reset',
    'release',
    'register',
    'authorize',
    'grant',
    'change',
    'move',
    'restart',
    'push',
    'up',
    'down',
    'open',
    'rotate',
  ],
  finding: { category: 'cloud.mutate', risk: 'high' },
  why: 'creates or changes resources (a copy from `s3://` to a local path is a download)',
} as const satisfies VerbRow;

/**
 * The cloud CLIs' verbs, matched on every word of the command (`aws ec2 terminate-instances`):
 * a destroy anywhere first, then a change after the first word that is not a read.
 */
export const CLOUD_VERBS: VerbTable = {
  program: 'aws, gcloud, gsutil, az, doctl, heroku, fly, vercel, netlify, firebase, eksctl, hcloud, linode-cli, scw, oci, ibmcloud, vault, wrangler',
  match: 'prefix',
  rows: [CLOUD_DESTROY, CLOUD_MUTATE, CLOUD_READ],
  otherwise: { why: 'reads' },
  notes: [
    'reading a secret (`secretsmanager get-secret-value`, `ssm get-parameter --with-decryption`, `vault read`) or printing credentials (`get-session-token`, `print-access-token` …) is `secret.read` high',
  ],
};

/** CLIs whose first word is the verb (`fly deploy`), not a service (`aws ec2 …`, `gcloud run deploy`). */
const VERB_FIRST = /^(fly|flyctl|vercel|netlify|firebase|wrangler|eksctl|gsutil|heroku)$/;
/** Bucket URLs: a copy from one to a local path is a download. */
const BUCKET_URL = /^(s3|gs):\/\//;

const cloudRule: ProgramRule = (inv, site) => {
  const words = inv.argv
    .slice(1)
    .map((a) => a.value)
    .filter((v) => !v.startsWith('-'))
    // heroku and firebase spell verbs after a colon: `apps:destroy`, `functions:delete`.
    .flatMap((w) => (/^(heroku|firebase)$/.test(inv.name) && !w.includes('://') ? w.split(':') : [w]));
  const flags = inv.argv.map((a) => a.value);
  if (
    words.some((w) => /^(get-secret-value|access|get-parameter|get-parameters|get-secret|secret)$/.test(w)) &&
    (words.includes('secretsmanager') || words.includes('secrets') || words.includes('ssm') || words.includes('keyvault') || flags.includes('--with-decryption'))
  ) {
    site.add('secret.read', 'high', ev(inv, 'reads a cloud secret'));
    return { secret: true };
  }
  const joined = words.join(' ');
  if (
    /\b(get-session-token|assume-role(-with-[a-z-]+)?|get-federation-token|get-login-password|get-login|export-credentials|get-authorization-token|print-access-token|print-identity-token|get-access-token|config-helper|auth:token|generate-db-auth-token|get-credentials-for-identity)\b/.test(
      joined,
    ) ||
    /\bconfigure get (aws_secret_access_key|aws_session_token|aws_access_key_id)\b/.test(joined) ||
    (/^(doctl|flyctl|fly|heroku|vercel|netlify|firebase)$/.test(inv.name) && /\bauth token\b|\bauth:token\b|\btokens? (create|print)\b/.test(joined))
  ) {
    site.add('secret.read', 'high', ev(inv, `${inv.name} prints cloud credentials`));
    return { secret: true };
  }
  if (inv.name === 'vault' && /^(read|kv)$/.test(words[0] ?? '') && !/^(put|delete|destroy|patch)$/.test(words[1] ?? '')) {
    site.add('secret.read', 'high', ev(inv, 'reads a Vault secret'));
    return { secret: true };
  }
  const destroy = words.find((w) => verbMatches(CLOUD_DESTROY, w, 'prefix'));
  if (destroy !== undefined) {
    const wide =
      flags.some((f) => /^(--recursive|--force|-r|--skip-final-snapshot|--all|-rf|-fr)$/.test(f)) ||
      /^(rb|delete-bucket|delete-db-instance|delete-db-cluster|delete-stack|delete-cluster|delete-table|terminate-instances|delete-project)$/.test(destroy);
    site.add(CLOUD_DESTROY.finding.category, wide ? 'critical' : CLOUD_DESTROY.finding.risk, ev(inv, `${inv.name} ${destroy}`));
    return {};
  }
  const mutate = words.slice(VERB_FIRST.test(inv.name) ? 0 : 1).find((w) => !verbMatches(CLOUD_READ, w, 'prefix') && verbMatches(CLOUD_MUTATE, w, 'prefix'));
  if (mutate !== undefined) {
    const download = /^(cp|sync|mv)$/.test(mutate) && BUCKET_URL.test(words.slice(-2)[0] ?? '') && !BUCKET_URL.test(words.at(-1) ?? '');
    if (!download) site.add(CLOUD_MUTATE.finding.category, CLOUD_MUTATE.finding.risk, ev(inv, `${inv.name} ${mutate}`));
    const local = inv.argv.slice(1).filter((a) => !a.value.startsWith('-') && a.literal && !a.value.includes('://'));
    readFiles(local, inv, site);
  }
  return {};
};

/** Infrastructure as code and the cloud providers' CLIs. */
export const CLOUD_PROGRAMS: ProgramFamily = {
  title: 'Cloud and infrastructure',
  verbs: [IAC_VERBS, CLOUD_VERBS],
  rules: [
    ['terraform tofu terragrunt pulumi cdk', iacRule],
    ['aws gcloud gsutil az doctl heroku flyctl fly vercel netlify firebase eksctl hcloud linode-cli scw oci ibmcloud vault wrangler', cloudRule],
  ],
};
