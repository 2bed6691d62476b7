/**
 * The options `bastion hook` and `bastion exec` share (`--config`, `--policy`, `--data-dir`,
 * `--principal`, `--groups`, `--no-baseline`) and the application they build from them: the
 * composition root without a server or a watcher. State is in the data directory when one is
 * given (flag or config file), else in memory (nothing recorded, approvals not shared).
 */

import { resolve } from 'node:path';
import { createBastionApp, type BastionApp } from '../app/index.js';
import { DEFAULT_CONFIG, loadConfig, type BastionConfig } from '../config/index.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { Principal } from '../core/types.js';
import type { CliIo } from './command.js';

export const AGENT_OPTIONS = {
  config: { type: 'string' },
  policy: { type: 'string', multiple: true },
  'data-dir': { type: 'string' },
  principal: { type: 'string' },
  groups: { type: 'string' },
  'no-baseline': { type: 'boolean', default: false },
} as const;

export interface AgentValues {
  config?: string | undefined;
  policy?: string[] | undefined;
  'data-dir'?: string | undefined;
  principal?: string | undefined;
  groups?: string | undefined;
  'no-baseline'?: boolean | undefined;
}

export interface AgentApp {
  app: BastionApp;
  config: BastionConfig;
  principal: Principal;
  /** Whether state is persisted (a data directory) or in memory. */
  persistent: boolean;
}

/** `--groups a,b` as a list; empty entries are refused, not dropped. */
function groupsOf(raw: string | undefined): Result<string[], BastionError> {
  if (raw === undefined || raw === '') return ok([]);
  const groups = raw.split(',').map((g) => g.trim());
  if (groups.some((g) => g === '')) return fail(bastionError('INPUT_INVALID', `option \`--groups\`: ${quote(raw)} has an empty group name`));
  return ok(groups);
}

/**
 * Loads the configuration, applies the flags and builds the app (not started: nothing listens).
 *
 * @example const built = await buildAgentApp(io, values, 'claude-code'); if (built.ok) await built.value.app.gateway.decide(request);
 */
export async function buildAgentApp(io: CliIo, values: AgentValues, surface: string, defaultPrincipal: string): Promise<Result<AgentApp, BastionError>> {
  let config: BastionConfig = { ...DEFAULT_CONFIG };
  let persistent = false;
  if (values.config !== undefined) {
    const loaded = loadConfig(values.config, io.cwd);
    if (!loaded.ok) return loaded;
    config = loaded.value;
    persistent = true;
  }
  if (values.policy !== undefined && values.policy.length > 0) config.policies = values.policy.map((p) => resolve(io.cwd, p));
  if (values['data-dir'] !== undefined) {
    config.dataDir = resolve(io.cwd, values['data-dir']);
    persistent = true;
  }
  if (values['no-baseline'] === true) config.baseline = { enabled: false };
  if (config.policies.length === 0) return fail(bastionError('INPUT_INVALID', 'no policies: pass --policy PATH or a --config file that lists policies'));
  const groups = groupsOf(values.groups);
  if (!groups.ok) return groups;
  const id = values.principal ?? defaultPrincipal;
  if (id === '') return fail(bastionError('INPUT_INVALID', 'option `--principal` must not be empty'));
  const built = await createBastionApp({ config, io, surface, server: false, watch: false, memory: !persistent });
  if (!built.ok) return built;
  return ok({ app: built.value, config, principal: { id, groups: groups.value }, persistent });
}
