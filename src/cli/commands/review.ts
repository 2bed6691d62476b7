/**
 * `bastion review`: the change review (`POST /review-change`) from a terminal, for one
 * principal named on the command line, against policy files, with the same workflow,
 * tools, gateway decisions and answers as the service. With `--data-dir` the run is recorded
 * in the audit log like the service's.
 */

import { resolve } from 'node:path';
import { reviewBackendFor, reviewModelFor } from '../../app/index.js';
import { loadConfig, type BastionConfig } from '../../config/index.js';
import { BastionException } from '../../core/errors.js';
import { parseRequestJson } from '../../core/request-json.js';
import type { Principal } from '../../core/types.js';
import { createGateway } from '../../gateway/index.js';
import { parseKillSwitchChange, type KillSwitchState } from '../../killswitch/index.js';
import { createChangeReview, fixtureBackend, REVIEW_MESSAGES, type ReviewBackend, type ReviewOutcome } from '../../review/index.js';
import { badInput, EXIT, parseOptions, type CliIo, type Command } from '../command.js';
import { oneLine } from './check.js';

const HELP = `Usage: bastion review --ticket KEY --repository NAME --pull-request N (--policy <file|dir> [--policy …] | --config FILE)
                      --principal ID [--groups G1,G2] [--device-compliant] [--json] [--data-dir DIR]
                      [--fixtures DIR] [--kill-switch JSON]

Reviews a change as POST /review-change does (the ZYX change-review workflow): authorizes its six
tools for the principal, reads the Jira ticket, the pull request, the security standards and the
AWS development account, analyzes the Terraform, posts the Jira comment and the Slack summary.

Options:
  --ticket KEY          the Jira change ticket, e.g. CHG-18422
  --repository NAME     the repository of the pull request, e.g. platform-infra
  --pull-request N      the pull request number, e.g. 991
  --policy PATH         a policy file or directory (repeatable), e.g. examples/zyx
  --config FILE         a bastion.yaml: its policies (unless --policy is given) and its \`review\`
                        section (the Slack channel; fixture data or the real systems, tokens from
                        the environment variables it names)
  --principal ID        who asks (the identity the tools are decided for)
  --groups G1,G2        the principal's groups
  --device-compliant    the principal's device is managed and compliant (default: not)
  --json                print the answer body as the service sends it
  --data-dir DIR        record the run in DIR/bastion.db
  --fixtures DIR        the fixture data the connectors read (default: the bundled examples/change-review)
  --kill-switch JSON    run under this kill-switch state, e.g. '{"all_write_tools_disabled":true}'

Exit codes: 0 reviewed, 1 refused (a tool denied, prompt injection in the retrieved context, a
connector failed; the answer is printed), 2 bad input.

Example:
  bastion review --policy examples/zyx --ticket CHG-18422 --repository platform-infra --pull-request 991 \\
    --principal engineer@zyxbank.example --groups grp-ai-users,grp-ai-devops-readonly --device-compliant
`;

/** The review for people: the answer's lists, each finding with where it is. */
function formatOutcome(outcome: ReviewOutcome): string {
  if (outcome.status === 200) {
    const { body, review } = outcome;
    const lines = [`${body.ticket} ${body.repository}#${body.pull_request}: risk ${body.risk_rating} (trace ${body.audit_trace_id})`, '', 'Findings:'];
    if (review.messages.length === 0) lines.push('  none');
    for (const message of review.messages) {
      lines.push(`  - ${message}`);
      for (const f of review.findings.filter((x) => x.message === message)) {
        const where = f.file !== undefined ? `${f.file}${f.line !== undefined ? `:${f.line}` : ''}` : (f.evidence ?? '');
        lines.push(
          `      ${where}${f.resource !== undefined ? ` ${f.resource}` : ''}${f.file !== undefined && f.evidence !== undefined ? `: ${f.evidence}` : ''}${f.standard ? ` [${f.standard.id}]` : ''}`,
        );
      }
    }
    lines.push(
      '',
      'Required approvals:',
      ...body.required_approvals.map((a) => `  - ${a}`),
      '',
      'Recommended remediation:',
      ...(body.recommended_remediation.length > 0 ? body.recommended_remediation.map((r) => `  - ${r}`) : ['  none']),
    );
    if (body.summary !== undefined) lines.push('', 'Model summary (advisory; the findings above are authoritative):', `  ${body.summary}`);
    lines.push('', `Tools used: ${body.tools_used.join(', ')}`);
    return `${lines.join('\n')}\n`;
  }
  if (outcome.status === 403) {
    const d = outcome.body.detail;
    return `${d.message} (trace ${d.trace_id}):\n${d.denied.map((t) => `  - ${t.tool_name}: ${t.reason}${t.approval_required ? ' (approval required)' : ''}`).join('\n')}\n`;
  }
  if (outcome.status === 422) return `invalid request: ${outcome.body.detail.map((i) => `${i.loc.slice(1).join('.')}: ${i.msg}`).join('; ')}\n`;
  return `${outcome.body.detail} (trace ${outcome.traceId})\n`;
}

export const reviewCommand: Command = {
  name: 'review',
  summary: 'review a change (ticket, pull request) as POST /review-change does',
  help: HELP,
  async run(args: string[], io: CliIo): Promise<number> {
    const options = parseOptions(io, 'review', args, {
      help: HELP,
      options: {
        ticket: { type: 'string' },
        repository: { type: 'string' },
        'pull-request': { type: 'string' },
        policy: { type: 'string', multiple: true },
        principal: { type: 'string' },
        groups: { type: 'string' },
        'device-compliant': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        fixtures: { type: 'string' },
        'kill-switch': { type: 'string' },
        config: { type: 'string' },
      },
    });
    if (!options.ok) return options.exit;
    const opts = options.values;
    for (const name of ['ticket', 'repository', 'pull-request'] as const) if (opts[name] === undefined) return badInput(io, 'review', `missing --${name}`);
    let config: BastionConfig | undefined;
    if (opts.config !== undefined) {
      const loaded = loadConfig(opts.config, io.cwd);
      if (!loaded.ok) return badInput(io, 'review', oneLine(loaded.errors.map((e) => e.message)));
      config = loaded.value;
    }
    const policies = opts.policy && opts.policy.length > 0 ? opts.policy : (config?.policies ?? []);
    if (policies.length === 0) return badInput(io, 'review', 'missing --policy <file|dir> (the ZYX tool policy is examples/zyx), or a --config file that lists policies');
    let backend: ReviewBackend;
    if (opts.fixtures !== undefined || config === undefined) backend = fixtureBackend(...(opts.fixtures !== undefined ? [resolve(io.cwd, opts.fixtures)] : []));
    else {
      const built = reviewBackendFor(config, io.env);
      if (!built.ok) return badInput(io, 'review', oneLine(built.errors.map((e) => e.message)));
      backend = built.value;
    }
    const model = config !== undefined ? reviewModelFor(config, io.env) : undefined;
    if (model !== undefined && !model.ok) return badInput(io, 'review', oneLine(model.errors.map((e) => e.message)));
    if (opts.principal === undefined || opts.principal.trim() === '') return badInput(io, 'review', `${REVIEW_MESSAGES.missingIdentity}: pass --principal ID (with --groups and --device-compliant)`);
    const principal: Principal = {
      id: opts.principal.trim(),
      groups: [...new Set((opts.groups ?? '').split(/[\s,]+/).filter((g) => g !== ''))],
      deviceCompliant: opts['device-compliant'] === true,
    };
    let killSwitch: Partial<KillSwitchState> | undefined;
    if (opts['kill-switch'] !== undefined) {
      const raw = parseRequestJson(Buffer.from(opts['kill-switch']), '--kill-switch');
      if (!raw.ok) return badInput(io, 'review', oneLine(raw.errors.map((e) => e.message)));
      const change = parseKillSwitchChange(raw.value, '--kill-switch');
      if (!change.ok) return badInput(io, 'review', oneLine(change.errors.map((e) => e.message)));
      killSwitch = change.value;
    }
    let gateway;
    try {
      gateway = await createGateway({
        policies,
        cwd: io.cwd,
        surface: 'cli',
        approvals: { enabled: false },
        ...(killSwitch !== undefined ? { killSwitch } : {}),
        ...(opts['data-dir'] !== undefined ? { dataDir: resolve(io.cwd, opts['data-dir']) } : {}),
      });
    } catch (err) {
      if (err instanceof BastionException) return badInput(io, 'review', oneLine(err.details.map((e) => e.message)));
      throw err;
    }
    try {
      const channel = config?.review?.slackChannel;
      const outcome = await createChangeReview({
        gateway,
        backend,
        ...(channel !== undefined ? { slackChannel: channel } : {}),
        ...(model?.ok && model.value !== undefined ? { model: model.value } : {}),
      }).run(principal, {
        ticket: opts.ticket,
        repository: opts.repository,
        pull_request: opts['pull-request'],
      });
      io.stdout.write(opts.json ? `${JSON.stringify(outcome.body, null, 2)}\n` : formatOutcome(outcome));
      if (outcome.status === 422) return EXIT.BAD_INPUT;
      return outcome.status === 200 ? EXIT.OK : EXIT.FAILED;
    } finally {
      await gateway.close();
    }
  },
};
