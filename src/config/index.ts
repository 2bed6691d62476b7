/**
 * The service configuration file (`bastion serve --config FILE`, and `npm start` with
 * `config/bastion.yaml`). Paths in it are relative to the file. Unknown fields are
 * rejected, so a typo never silently falls back to a default; every problem names the file,
 * line, column and field.
 *
 *   server: { host: 127.0.0.1, port: 8700 }
 *   dataDir: .bastion
 *   policies: [./native]
 *   baseline: { enabled: true }
 *   audit: { durable: true, retentionDays: 2555, keyDir: /etc/bastion/audit-key }
 *   storage: { kind: postgres, url: postgres://bastion@db/bastion }   # every store but limits, shared by replicas; url or BASTION_POSTGRES_URL
 *   identity: { jwt: { jwksUrl: https://idp/jwks, issuer: https://idp/, audience: bastion }, apiKeys: true }
 *   admin_groups: [bastion-admins]
 *   limits: { onStoreError: closed, redis: redis://cache:6379, prefix: 'bastion:limits:' }   # redis: shared by replicas; url or BASTION_REDIS_URL
 *   approvals: { defaultApproverGroups: [bastion-approvers], defaultExpiry: 15m }
 *   notifications: { webhooks: [{ name, url | urlEnv, format: generic | slack, secretEnv | secretFile }] }
 *   upstream: https://api.openai.com/v1
 *   proxy: { onDeny: error | strip, timeout: 120s, idleTimeout: 60s, redactText: false }
 *   mcp: { servers: { files: { command: [node, files.js] }, remote: { url: https://mcp.example/mcp } }, allowedOrigins: [] }
 *   hooks: { claudeCode: { onApproval: ask | wait, waitSeconds: 120, timeoutSeconds: 30 },
 *            geminiCli: { onApproval: deny | wait, waitSeconds: 50, timeoutSeconds: 30 } }
 *   exec: { sandbox: true, timeoutSeconds: 300, maxOutputBytes: 1048576, approvalWaitSeconds: 900 }
 *   scanners: { injection: { classifier: { url: http://127.0.0.1:9000/classify, onError: closed | open, timeout: 1s, threshold: 0.5, apiKeyEnv } } }
 *   detections: { rules: [./detections], businessHours: { start: '08:00', end: '18:00', timezone: Europe/Stockholm, days: [mon, tue, wed, thu, fri] },
 *                 serviceAccounts: [svc-agent], expectedNetworks: [10.0.0.0/8], approvers: [alice], placeholders: {} }
 *
 * `ConfigFileSchema` is the file's one definition. The sections later issues add (identity,
 * approvals, limits, storage, mcp) extend it: `ConfigFileSchema.extend({ identity: … })`.
 */

import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { DEFAULT_BUSINESS_HOURS } from '../audit/index.js';
import type { Result } from '../core/result.js';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { schemaErrors, schemaProblems, strictObject } from '../core/schema.js';
import { yamlLocator } from '../core/yaml-position.js';
import {
  DEFAULT_CLAIMS,
  DEFAULT_IDENTITY,
  DEFAULT_JWT_ALGORITHMS,
  JWT_ALGORITHMS,
  MAX_CLOCK_TOLERANCE_SECONDS,
  withAliases,
  type IdentityConfig,
  type JwtAlgorithm,
  type JwtConfig,
} from '../identity/index.js';

const HTTP_URL = /^https?:\/\//;
const bool = z.boolean({ error: 'must be true or false' });

/**
 * Where the audit log lives: `sqlite` (the default, `DIR/bastion.db`) or `postgres`, one
 * chain shared by several replicas. The URL may hold a password: it can come from
 * `BASTION_POSTGRES_URL` instead (read when the app is built), and no message prints it.
 */
const StorageConfigSchema = strictObject(
  {
    kind: z.enum(['sqlite', 'postgres'], { error: 'must be `sqlite` (the default: DIR/bastion.db) or `postgres`' }),
    url: z
      .string({ error: 'must be a postgres:// URL' })
      .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'must be a postgres:// or postgresql:// URL' })
      .exactOptional(),
  },
  { what: 'in `storage`', notObject: 'must be a mapping such as `{ kind: postgres, url: postgres://… }`', hint: 'the url may come from BASTION_POSTGRES_URL' },
).superRefine((storage, ctx) => {
  if (storage.kind === 'sqlite' && storage.url !== undefined) ctx.addIssue({ code: 'custom', message: 'goes with `kind: postgres` only (SQLite lives in the data directory)', path: ['url'] });
});

/**
 * The resolved `limits` section: what rate limits do while the limit store fails (budgets
 * always fail closed), and the Redis server the replicas count in (absent: `BASTION_REDIS_URL`,
 * else the data directory's file, per replica).
 */
export interface LimitsConfig {
  onStoreError: 'closed' | 'open';
  redis?: string;
  /** Key prefix in Redis (default `bastion:limits:`); only with a Redis URL. */
  prefix?: string;
}

/** The resolved `storage` section: the URL absent when it is to come from `BASTION_POSTGRES_URL`. */
export type StorageConfig = { kind: 'sqlite' } | { kind: 'postgres'; url?: string };

/** Streaming the audit log to a SIEM. The token comes from `BASTION_SIEM_TOKEN`, never the file. */
export const SiemConfigSchema = strictObject(
  {
    url: z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' }),
    format: z.enum(['splunk-hec', 'json'], { error: 'must be `splunk-hec` or `json`' }).default('splunk-hec'),
    eventFormat: z.enum(['ocsf', 'jsonl', 'zyx'], { error: 'must be `ocsf`, `jsonl` or `zyx`' }).default('ocsf'),
  },
  { what: 'in `audit.siem`', notObject: 'must be a mapping with `url` and `format`', hint: 'the token comes from BASTION_SIEM_TOKEN' },
);

export type SiemConfig = z.output<typeof SiemConfigSchema>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const names = (what: string) =>
  z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], { error: `must be ${what}: a string or a non-empty list of strings` }).transform((v) => (Array.isArray(v) ? v : [v]));
const seconds = (max: number, what: string) =>
  z
    .number({ error: `must be a number of seconds from 0 to ${max}${what}` })
    .min(0, { error: `must be a number of seconds from 0 to ${max}${what}` })
    .max(max, { error: `must be a number of seconds from 0 to ${max}${what}` });
const claimPath = z.string({ error: 'must be a claim name or a dotted path such as `realm_access.roles`' }).min(1, { error: 'must be a claim name or a dotted path such as `realm_access.roles`' });
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const headerNames = z
  .union([z.string(), z.array(z.string()).min(1)], { error: 'must be a header name or a list of header names' })
  .superRefine((v, ctx) => {
    for (const name of Array.isArray(v) ? v : [v]) if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', message: `${quote(name)} is not a header name` });
  })
  .exactOptional();

const algorithm = z.string({ error: 'must be an algorithm name such as `RS256`' }).superRefine((alg, ctx) => {
  if ((JWT_ALGORITHMS as readonly string[]).includes(alg)) return;
  const message =
    alg.toLowerCase() === 'none'
      ? '`none` would accept unsigned tokens: it is never allowed'
      : /^HS/i.test(alg)
        ? `${quote(alg)} is symmetric: every holder of the shared secret could mint tokens; use an asymmetric algorithm (${DEFAULT_JWT_ALGORITHMS.join(', ')}, …)`
        : `unknown algorithm ${quote(alg)} (expected one of ${JWT_ALGORITHMS.join(', ')})`;
  ctx.addIssue({ code: 'custom', message });
});

/** `identity.jwt`: how bearer JWTs are verified. */
export const JwtConfigSchema = strictObject(
  {
    jwksUrl: z
      .url({ error: 'must be an https URL (http only on a loopback host)' })
      .refine((u) => u.startsWith('https://') || (u.startsWith('http://') && LOOPBACK_HOSTS.has(new URL(u).hostname)), { error: 'must be an https URL (http only on a loopback host)' })
      .exactOptional(),
    jwksFile: z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' }).exactOptional(),
    publicKeyFile: z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' }).exactOptional(),
    issuer: names('the accepted issuer (`iss`)'),
    audience: names('the accepted audience (`aud`)'),
    algorithms: z.array(algorithm, { error: 'must be a list of algorithm names such as `[RS256, ES256]`' }).min(1, { error: 'must name at least one algorithm' }).exactOptional(),
    clockToleranceSeconds: seconds(MAX_CLOCK_TOLERANCE_SECONDS, ' (the allowed clock skew)').exactOptional(),
    requiredClaims: z.array(claimPath, { error: 'must be a list of claim names' }).exactOptional(),
    claims: strictObject(
      {
        id: claimPath.exactOptional(),
        groups: claimPath.exactOptional(),
        deviceCompliant: claimPath.exactOptional(),
        attributes: z.record(z.string(), claimPath, { error: 'must map attribute names to claim paths' }).exactOptional(),
      },
      { what: 'in `identity.jwt.claims`', notObject: 'must be a mapping such as `{ id: sub, groups: groups }`' },
    ).exactOptional(),
    jwksTimeoutSeconds: seconds(60, '').exactOptional(),
    jwksCooldownSeconds: seconds(3600, '').exactOptional(),
    jwksMaxAgeSeconds: seconds(86_400, '').exactOptional(),
  },
  { what: 'in `identity.jwt`', notObject: 'must be a mapping with one of `jwksUrl`, `jwksFile`, `publicKeyFile`, and `issuer` and `audience`' },
).superRefine((jwt, ctx) => {
  const given = (['jwksUrl', 'jwksFile', 'publicKeyFile'] as const).filter((k) => jwt[k] !== undefined);
  if (given.length === 0) ctx.addIssue({ code: 'custom', message: 'needs the keys: one of `jwksUrl`, `jwksFile` or `publicKeyFile`' });
  for (const extra of given.slice(1)) ctx.addIssue({ code: 'custom', path: [extra], message: `give only one of \`jwksUrl\`, \`jwksFile\` or \`publicKeyFile\` (\`${given[0]}\` is given too)` });
});

/** `identity`: who may call the service (see the README, "Identity"). */
export const IdentityConfigSchema = strictObject(
  {
    jwt: JwtConfigSchema.exactOptional(),
    apiKeys: bool.exactOptional(),
    headers: strictObject(
      { id: headerNames, groups: headerNames, deviceCompliant: headerNames, environment: headerNames, dangerLevel: headerNames },
      { what: 'in `identity.headers`', notObject: 'must be a mapping of header names (development mode)' },
    ).exactOptional(),
  },
  { what: 'in `identity`', notObject: 'must be a mapping with `jwt` and/or `apiKeys`' },
);

const DURATION = /^([0-9]+)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Milliseconds of a duration such as `250ms`, `30s`, `15m`, `4h`, `7d` (a bare number is seconds). */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  const m = DURATION.exec(value);
  return m ? Number(m[1]) * (UNIT_MS[m[2] as string] as number) : Number.NaN;
}
const duration = (what: string) =>
  z
    .union([z.int().min(1), z.string().regex(DURATION)], { error: `must be ${what}: a number of seconds or a duration such as \`500ms\`, \`30s\`, \`15m\`, \`4h\`, \`7d\`` })
    .refine((v) => durationMs(v) > 0, { error: `must be ${what}: a duration above zero` });
const groupName = z.string({ error: 'must be a list of group names' }).min(1, { error: 'must be a list of group names' });
const envName = z.string({ error: 'must be an environment variable name' }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });

export const APPROVAL_TRANSITIONS = ['requested', 'approved', 'denied', 'expired', 'consumed', 'cancelled'] as const;

/** One webhook that hears of approvals. Its URL (Slack's is a secret) may come from the environment; the HMAC secret always does, or from a file. */
export const WebhookConfigSchema = strictObject(
  {
    name: z.string({ error: 'must be a name for the webhook' }).regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be a name of letters, digits, `.`, `_` or `-`' }),
    url: z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' }).exactOptional(),
    urlEnv: envName.exactOptional(),
    format: z.enum(['generic', 'slack'], { error: 'must be `generic` or `slack`' }).default('generic'),
    secretEnv: envName.exactOptional(),
    secretFile: z.string({ error: 'must be a file path' }).min(1, { error: 'must be a file path' }).exactOptional(),
    events: z
      .array(z.enum(APPROVAL_TRANSITIONS, { error: `must be one of ${APPROVAL_TRANSITIONS.join(', ')}` }), { error: 'must be a list of approval transitions' })
      .min(1, { error: 'must list at least one transition' })
      .exactOptional(),
  },
  { what: 'in a webhook', notObject: 'a webhook must be a mapping with `name`, `url` and `secretEnv`', hint: 'secrets come from `secretEnv` or `secretFile`, never the file itself' },
).superRefine((w, ctx) => {
  if ((w.url === undefined) === (w.urlEnv === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of `url` and `urlEnv`', path: [w.url === undefined ? 'url' : 'urlEnv'] });
  if (w.secretEnv !== undefined && w.secretFile !== undefined) ctx.addIssue({ code: 'custom', message: 'give one of `secretEnv` and `secretFile`, not both', path: ['secretFile'] });
  if (w.format === 'generic' && w.secretEnv === undefined && w.secretFile === undefined)
    ctx.addIssue({ code: 'custom', message: 'a generic webhook is signed: give `secretEnv` (an environment variable) or `secretFile`', path: ['secretEnv'] });
});

export const NotificationsConfigSchema = strictObject(
  {
    webhooks: z.array(WebhookConfigSchema, { error: 'must be a list of webhooks' }),
    retry: strictObject(
      {
        attempts: z
          .int({ error: 'must be a whole number from 1 to 20' })
          .min(1, { error: 'must be a whole number from 1 to 20' })
          .max(20, { error: 'must be a whole number from 1 to 20' })
          .exactOptional(),
        initialDelay: duration('the first retry delay').exactOptional(),
        maxDelay: duration('the longest retry delay').exactOptional(),
      },
      { what: 'in `notifications.retry`', notObject: 'must be a mapping with `attempts`, `initialDelay` and `maxDelay`' },
    ).exactOptional(),
    queueSize: z
      .int({ error: 'must be a whole number from 1 to 100000' })
      .min(1, { error: 'must be a whole number from 1 to 100000' })
      .max(100_000, { error: 'must be a whole number from 1 to 100000' })
      .exactOptional(),
    timeout: duration('the time a webhook may take to answer').exactOptional(),
  },
  { what: 'in `notifications`', notObject: 'must be a mapping with `webhooks`' },
);

/** A webhook, resolved: the secret file's path absolute. Secrets are read when the app is built. */
export interface WebhookConfig {
  name: string;
  url?: string;
  urlEnv?: string;
  format: 'generic' | 'slack';
  secretEnv?: string;
  secretFile?: string;
  events: (typeof APPROVAL_TRANSITIONS)[number][];
}

export interface NotificationsConfig {
  webhooks: WebhookConfig[];
  retry: { attempts: number; initialDelayMs: number; maxDelayMs: number };
  queueSize: number;
  timeoutMs: number;
}

/** Defaults of `notifications`: 5 attempts, 1 s doubling up to 60 s, 1000 queued, 10 s per attempt. */
export const DEFAULT_NOTIFICATIONS: Omit<NotificationsConfig, 'webhooks'> = { retry: { attempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000 }, queueSize: 1000, timeoutMs: 10_000 };
/** Transitions a webhook hears of unless it lists its own: new and decided approvals. */
export const DEFAULT_WEBHOOK_EVENTS: WebhookConfig['events'] = ['requested', 'approved', 'denied', 'expired', 'cancelled'];

const url = z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' });
const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` });

/**
 * The change review's real systems (`POST /review-change`, `bastion review`). Tokens come
 * from environment variables named here, read when the app is built, never from the file.
 */
export const ReviewHttpConfigSchema = strictObject(
  {
    jira: strictObject(
      { baseUrl: url, email: text('the Jira account e-mail'), tokenEnv: envName, rollbackField: text('a Jira field id such as `customfield_10050`').exactOptional() },
      { what: 'in `review.http.jira`', notObject: 'must be a mapping with `baseUrl`, `email` and `tokenEnv`' },
    ),
    github: strictObject(
      { baseUrl: url.exactOptional(), owner: text('the repository owner'), tokenEnv: envName },
      { what: 'in `review.http.github`', notObject: 'must be a mapping with `owner` and `tokenEnv`' },
    ),
    confluence: strictObject(
      { baseUrl: url, email: text('the Confluence account e-mail'), tokenEnv: envName, standardsPageId: text('the id of the standards page') },
      { what: 'in `review.http.confluence`', notObject: 'must be a mapping with `baseUrl`, `email`, `tokenEnv` and `standardsPageId`' },
    ),
    slack: strictObject({ baseUrl: url.exactOptional(), tokenEnv: envName }, { what: 'in `review.http.slack`', notObject: 'must be a mapping with `tokenEnv`' }),
    aws: strictObject(
      {
        environment: text('the account the review reads, e.g. `development`'),
        alias: text('an account alias').exactOptional(),
        region: text('an AWS region'),
        accessKeyIdEnv: envName,
        secretAccessKeyEnv: envName,
        sessionTokenEnv: envName.exactOptional(),
        stsEndpoint: url.exactOptional(),
        ec2Endpoint: url.exactOptional(),
      },
      { what: 'in `review.http.aws`', notObject: 'must be a mapping with `environment`, `region`, `accessKeyIdEnv` and `secretAccessKeyEnv`' },
    ),
  },
  { what: 'in `review.http`', notObject: 'must be a mapping with `jira`, `github`, `confluence`, `slack` and `aws`' },
);
export type ReviewHttpConfig = z.output<typeof ReviewHttpConfigSchema>;

/** The review's optional model step: an OpenAI-compatible endpoint that writes a narrative summary. */
export const ReviewModelConfigSchema = strictObject(
  {
    baseUrl: url,
    model: text('a model name'),
    apiKeyEnv: envName.exactOptional(),
    timeout: duration('how long the model may take to answer').exactOptional(),
  },
  { what: 'in `review.model`', notObject: 'must be a mapping with `baseUrl` and `model` (and `apiKeyEnv`, `timeout`)' },
);

/** `scanners.injection.classifier`: an external prompt-injection classifier for tool results (src/scan/classifier.ts). */
export const ClassifierConfigSchema = strictObject(
  {
    url,
    onError: z.enum(['closed', 'open'], { error: 'must be `closed` (a failed call counts as an attack) or `open` (the local detector alone decides); there is no default' }),
    timeout: duration('how long the classifier may take to answer').exactOptional(),
    threshold: z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be a number from 0 to 1' }).max(1, { error: 'must be a number from 0 to 1' }).exactOptional(),
    apiKeyEnv: envName.exactOptional(),
  },
  { what: 'in `scanners.injection.classifier`', notObject: 'must be a mapping with `url` and `onError` (and `timeout`, `threshold`, `apiKeyEnv`)' },
);

export const ScannersConfigSchema = strictObject(
  {
    injection: strictObject({ classifier: ClassifierConfigSchema.exactOptional() }, { what: 'in `scanners.injection`', notObject: 'must be a mapping with `classifier`' }).exactOptional(),
  },
  { what: 'in `scanners`', notObject: 'must be a mapping with `injection`' },
);

export const ReviewConfigSchema = strictObject(
  {
    slackChannel: text('a Slack channel').exactOptional(),
    model: ReviewModelConfigSchema.exactOptional(),
    fixtures: text('a directory of fixture data').exactOptional(),
    http: ReviewHttpConfigSchema.exactOptional(),
  },
  { what: 'in `review`', notObject: 'must be a mapping with `slackChannel`, and `fixtures` or `http`' },
).superRefine((r, ctx) => {
  if (r.fixtures !== undefined && r.http !== undefined) ctx.addIssue({ code: 'custom', message: 'give one of `fixtures` and `http`, not both', path: ['http'] });
});
/** `proxy`: how the model-API proxy treats the upstream and the tool calls it refuses. */
export const ProxyConfigSchema = strictObject(
  {
    onDeny: z.enum(['error', 'strip'], { error: "must be `error` (answer the API's error, HTTP 403) or `strip` (remove the refused call and say why in the text)" }).exactOptional(),
    timeout: duration('how long the upstream may take to answer').exactOptional(),
    idleTimeout: duration('the longest silence inside a streamed answer').exactOptional(),
    redactText: bool.exactOptional(),
  },
  { what: 'in `proxy`', notObject: 'must be a mapping such as `{ onDeny: error, timeout: 120s }`' },
);

/** The model-API proxy, resolved (`proxy` in `bastion.yaml`). */
export interface ProxyConfig {
  /** `error` (default): a refused tool call fails the answer with the API's error; `strip`: it is removed and explained. */
  onDeny: 'error' | 'strip';
  /** Until the upstream's answer (a whole plain answer, or a stream's headers); default 120 s. */
  timeoutMs: number;
  /** The longest gap between two chunks of a streamed answer; default 60 s. */
  idleTimeoutMs: number;
  /** Redact secrets in the model's text (streamed text then lags by up to about 1 KB); default false. */
  redactText: boolean;
}

export const DEFAULT_PROXY: ProxyConfig = { onDeny: 'error', timeoutMs: 120_000, idleTimeoutMs: 60_000, redactText: false };
const SERVER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** One upstream MCP server of `mcp.servers`: a command started over stdio, or a Streamable HTTP URL. */
export const McpServerConfigSchema = strictObject(
  {
    command: z
      .array(z.string({ error: 'must be a list of non-empty strings (the program, then its arguments)' }).min(1, { error: 'must be a list of non-empty strings (the program, then its arguments)' }), {
        error: 'must be a list: the program, then its arguments, e.g. `[node, server.js]`',
      })
      .min(1, { error: 'must name the program to start' })
      .exactOptional(),
    url: z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' }).exactOptional(),
  },
  { what: 'in an MCP server', notObject: 'an MCP server must be a mapping with `command` (a list) or `url`' },
).superRefine((server, ctx) => {
  if ((server.command === undefined) === (server.url === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of `command` (a stdio server) and `url` (a Streamable HTTP server)' });
});

/** `mcp`: the upstream MCP servers `bastion serve` proxies at `/mcp/<name>`. */
export const McpConfigSchema = strictObject(
  {
    servers: z.record(z.string(), McpServerConfigSchema, { error: 'must map server names to `{ command: [...] }` or `{ url: ... }`' }).superRefine((servers, ctx) => {
      for (const name of Object.keys(servers)) {
        if (!SERVER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `${quote(name)} is not a server name of letters, digits, \`.\`, \`_\` or \`-\`` });
      }
    }),
    allowedOrigins: z
      .array(
        z
          .string({ error: 'must be a list of origins such as `https://app.example.com`' })
          .regex(/^https?:\/\/[^/\s]+$/, { error: 'must be an origin: scheme and host, no path, e.g. `https://app.example.com`' }),
        { error: 'must be a list of origins such as `https://app.example.com`' },
      )
      .exactOptional(),
  },
  { what: 'in `mcp`', notObject: 'must be a mapping with `servers`' },
);

/** An upstream MCP server, resolved: the stdio command runs in the config file's directory. */
export type McpServerConfig = { command: string[]; cwd: string } | { url: string };

const wholeSeconds = (max: number) =>
  z
    .int({ error: `must be a whole number of seconds from 1 to ${max}` })
    .min(1, { error: `must be a whole number of seconds from 1 to ${max}` })
    .max(max, { error: `must be a whole number of seconds from 1 to ${max}` });

/** `hooks`: the agent CLI hooks (`bastion hook claude-code`, `POST /v1/hooks/claude-code`). */
export const HooksConfigSchema = strictObject(
  {
    claudeCode: strictObject(
      {
        onApproval: z.enum(['ask', 'wait'], { error: 'must be `ask` (Claude Code asks its user) or `wait` (wait for the Bastion approval)' }).exactOptional(),
        waitSeconds: wholeSeconds(3600).exactOptional(),
        timeoutSeconds: wholeSeconds(600).exactOptional(),
      },
      { what: 'in `hooks.claudeCode`', notObject: 'must be a mapping such as `{ onApproval: ask }`' },
    ).exactOptional(),
    geminiCli: strictObject(
      {
        onApproval: z.enum(['deny', 'wait'], { error: 'must be `deny` (the reason names the Bastion approval) or `wait` (wait for the Bastion approval)' }).exactOptional(),
        waitSeconds: wholeSeconds(3600).exactOptional(),
        timeoutSeconds: wholeSeconds(600).exactOptional(),
      },
      { what: 'in `hooks.geminiCli`', notObject: 'must be a mapping such as `{ onApproval: wait }`' },
    ).exactOptional(),
  },
  { what: 'in `hooks`', notObject: 'must be a mapping with `claudeCode` or `geminiCli`' },
);

/** `exec`: guarded shell execution (`bastion exec`, `runCommand`). */
export const ExecConfigSchema = strictObject(
  {
    sandbox: bool.exactOptional(),
    timeoutSeconds: wholeSeconds(86_400).exactOptional(),
    maxOutputBytes: z
      .int({ error: 'must be a whole number of bytes from 1 to 1073741824' })
      .min(1, { error: 'must be a whole number of bytes from 1 to 1073741824' })
      .max(1_073_741_824, { error: 'must be a whole number of bytes from 1 to 1073741824' })
      .exactOptional(),
    approvalWaitSeconds: wholeSeconds(86_400).exactOptional(),
  },
  { what: 'in `exec`', notObject: 'must be a mapping such as `{ sandbox: true, timeoutSeconds: 60 }`' },
);

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const clock = (what: string) =>
  z.string({ error: `must be a time of day such as \`${what}\`` }).regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, { error: `must be a time of day such as \`${what}\` (HH:MM, 24-hour)` });
const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};
const isCidr = (value: string): boolean => {
  const [address = '', bits, more] = value.split('/');
  const family = isIP(address);
  const max = family === 6 ? 128 : 32;
  return family !== 0 && more === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max));
};
const principalIds = z.array(z.string({ error: 'must be a list of principal ids' }).min(1, { error: 'must be a list of principal ids' }), { error: 'must be a list of principal ids' });

/** `detections`: the Sigma rules `bastion audit detect` runs and the values their placeholders take. */
export const DetectionsConfigSchema = strictObject(
  {
    rules: z
      .array(z.string({ error: 'must be a list of rule files or directories' }).min(1, { error: 'must be a list of rule files or directories' }), {
        error: 'must be a list of rule files or directories',
      })
      .exactOptional(),
    businessHours: strictObject(
      {
        start: clock('08:00').exactOptional(),
        end: clock('18:00').exactOptional(),
        timezone: z
          .string({ error: 'must be an IANA time zone such as `Europe/Stockholm`' })
          .refine(isTimeZone, { error: (iss) => `${quote(iss.input)} is not an IANA time zone such as \`Europe/Stockholm\`` })
          .exactOptional(),
        days: z
          .array(z.enum(WEEKDAYS, { error: 'must be one of mon, tue, wed, thu, fri, sat, sun' }), { error: 'must be a list of days such as `[mon, tue, wed, thu, fri]`' })
          .min(1, { error: 'must name at least one day' })
          .exactOptional(),
      },
      { what: 'in `detections.businessHours`', notObject: "must be a mapping such as `{ start: '08:00', end: '18:00', timezone: Europe/Stockholm, days: [mon, tue, wed, thu, fri] }`" },
    )
      .refine((h) => h.start === undefined || h.end === undefined || h.start < h.end, { error: 'must have `start` before `end`' })
      .exactOptional(),
    /** The agents' service accounts (placeholder `%service_accounts%`). */
    serviceAccounts: principalIds.exactOptional(),
    /** Networks the service accounts call from (placeholder `%expected_networks%`). */
    expectedNetworks: z
      .array(z.string({ error: 'must be a list of CIDR networks such as `10.0.0.0/8`' }).refine(isCidr, { error: (iss) => `${quote(iss.input)} is not a CIDR network such as \`10.0.0.0/8\`` }), {
        error: 'must be a list of CIDR networks such as `10.0.0.0/8`',
      })
      .exactOptional(),
    /** Who may grant approvals (placeholder `%approvers%`). */
    approvers: principalIds.exactOptional(),
    /** Values of any other placeholder a rule uses: `{ name: [values] }`. */
    placeholders: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'must be a placeholder name (letters, digits, `_`, `.`, `-`)' }),
        z.array(z.string({ error: 'must be a list of strings' }), { error: 'must be a list of strings' }),
        { error: 'must be a mapping of placeholder names to lists of values' },
      )
      .exactOptional(),
  },
  { what: 'in `detections`', notObject: 'must be a mapping such as `{ rules: [detections], serviceAccounts: [svc-agent] }`' },
);

const TRUST_PROXY = 'must be a list of IP addresses or CIDR ranges of trusted fronts, e.g. `[10.0.0.0/8, 127.0.0.1]`';

/** An IPv4 or IPv6 address, or a CIDR range of one (the forms Fastify's `trustProxy` takes). */
function isAddressOrRange(value: string): boolean {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash < 0) return true;
  const bits = value.slice(slash + 1);
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** `bastion.yaml` as written. */
export const ConfigFileSchema = strictObject(
  {
    server: strictObject(
      {
        host: z.string({ error: 'must be a host name or address' }).min(1, { error: 'must be a host name or address' }).exactOptional(),
        port: z
          .int({ error: 'must be a port number from 0 to 65535' })
          .min(0, { error: 'must be a port number from 0 to 65535' })
          .max(65535, { error: 'must be a port number from 0 to 65535' })
          .exactOptional(),
        /** Fronts (load balancers) whose X-Forwarded-For names the caller's address; default none. */
        trustProxy: z
          .array(
            z.string({ error: TRUST_PROXY }).refine((v) => isAddressOrRange(v), { error: TRUST_PROXY }),
            { error: TRUST_PROXY },
          )
          .exactOptional(),
      },
      { what: 'in `server`', notObject: 'must be a mapping with `host` and `port`' },
    ).exactOptional(),
    dataDir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).exactOptional(),
    policies: z
      .array(z.string({ error: 'must be a list of policy files or directories' }).min(1, { error: 'must be a list of policy files or directories' }), {
        error: 'must be a list of policy files or directories',
      })
      .exactOptional(),
    /** A candidate set decided next to `policies` (shadow mode); only `policies` enforces. */
    shadowPolicies: z
      .array(z.string({ error: 'must be a list of policy files or directories' }).min(1, { error: 'must be a list of policy files or directories' }), {
        error: 'must be a list of policy files or directories',
      })
      .exactOptional(),
    baseline: strictObject({ enabled: bool }, { what: 'in `baseline`', notObject: 'must be `{ enabled: true | false }`' }).exactOptional(),
    audit: strictObject(
      {
        durable: bool.exactOptional(),
        /** The signing key files' directory (every replica of a shared log gets the same key); default the data directory. */
        keyDir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }).exactOptional(),
        retentionDays: z.int({ error: 'must be a whole number of days' }).min(1, { error: 'must be a whole number of days' }).exactOptional(),
        siem: SiemConfigSchema.exactOptional(),
      },
      { what: 'in `audit`', notObject: 'must be a mapping' },
    ).exactOptional(),
    storage: StorageConfigSchema.exactOptional(),
    upstream: z.string({ error: 'must be an http(s) URL' }).regex(HTTP_URL, { error: 'must be an http(s) URL' }).exactOptional(),
    proxy: ProxyConfigSchema.exactOptional(),
    dev: bool.exactOptional(),
    identity: IdentityConfigSchema.exactOptional(),
    admin_groups: z
      .array(z.string({ error: 'must be a non-empty list of group names' }).min(1, { error: 'must be a non-empty list of group names' }), {
        error: 'must be a non-empty list of group names',
      })
      .min(1, { error: 'must be a non-empty list of group names (leave it out for the default `[bastion-admins]`)' })
      .exactOptional(),
    limits: strictObject(
      {
        onStoreError: z.enum(['closed', 'open'], { error: 'must be `closed` (refuse rate-limited calls while the limit store fails) or `open` (let them through, audited)' }).exactOptional(),
        /** The Redis server every replica counts limits in (else BASTION_REDIS_URL; else the data directory's file, per replica). */
        redis: z
          .string({ error: 'must be a redis:// or rediss:// URL' })
          .regex(/^rediss?:\/\/\S+$/, { error: 'must be a redis:// or rediss:// URL' })
          .exactOptional(),
        /** The prefix of Bastion's keys in Redis; replicas that share limits use the same. */
        prefix: z
          .string({ error: 'must be a key prefix such as `bastion:limits:`' })
          .regex(/^[^\s\0]{1,128}$/, { error: 'must be 1 to 128 characters without spaces or control characters' })
          .exactOptional(),
      },
      { what: 'in `limits`', notObject: 'must be a mapping such as `{ onStoreError: closed, redis: redis://cache:6379 }`', hint: 'the Redis URL may come from BASTION_REDIS_URL' },
    ).exactOptional(),
    approvals: strictObject(
      {
        defaultApproverGroups: z.array(groupName, { error: 'must be a list of group names' }).min(1, { error: 'must name at least one group' }).exactOptional(),
        defaultExpiry: duration('how long an approval stays valid').exactOptional(),
      },
      { what: 'in `approvals`', notObject: 'must be a mapping with `defaultApproverGroups` and `defaultExpiry`' },
    ).exactOptional(),
    notifications: NotificationsConfigSchema.exactOptional(),
    review: ReviewConfigSchema.exactOptional(),
    scanners: ScannersConfigSchema.exactOptional(),
    mcp: McpConfigSchema.exactOptional(),
    hooks: HooksConfigSchema.exactOptional(),
    exec: ExecConfigSchema.exactOptional(),
    detections: DetectionsConfigSchema.exactOptional(),
  },
  { what: 'in the configuration', notObject: 'the configuration must be a mapping' },
);

export type ConfigFile = z.output<typeof ConfigFileSchema>;

/** The resolved configuration: defaults filled in, paths absolute. */
export interface BastionConfig {
  host: string;
  port: number;
  /** Trusted fronts whose X-Forwarded-For names the caller (`server.trustProxy`); none by default. */
  trustProxy: string[];
  dataDir: string;
  policies: string[];
  /** Decided next to `policies`, recorded, never enforced (shadow mode); none by default. */
  shadowPolicies: string[];
  baseline: { enabled: boolean };
  audit: { durable: boolean; retentionDays?: number; siem?: SiemConfig; keyDir?: string };
  /** Where the audit log lives (the other state stays in the data directory's SQLite file). */
  storage: StorageConfig;
  /** The provider the model-API proxy forwards to (a base URL ending in `/v1`); its key from `BASTION_UPSTREAM_API_KEY`. */
  upstream?: string;
  proxy: ProxyConfig;
  dev: boolean;
  /** Who may call the service; nothing verifies by default (production mode then refuses everyone). */
  identity: IdentityConfig;
  /** Groups whose members may change the kill switch; default `[bastion-admins]`. */
  adminGroups: string[];
  /** The limits declared in policy: what rate limits do while the limit store fails (budgets always fail closed). */
  limits: LimitsConfig;
  /** Approver groups and expiry of approvals whose rule names none. */
  approvals: { defaultApproverGroups: string[]; defaultExpirySeconds: number };
  notifications?: NotificationsConfig;
  /** The change review: its Slack channel, and fixture data (the default demo) or real systems. */
  review?: { slackChannel?: string; fixtures?: string; http?: ReviewHttpConfig; model?: { baseUrl: string; model: string; apiKeyEnv?: string; timeoutMs: number } };
  /** The external prompt-injection classifier tool results are also sent to (default: none). */
  injectionClassifier?: { url: string; onError: 'closed' | 'open'; timeoutMs: number; threshold: number; apiKeyEnv?: string };
  /**
   * The upstream MCP servers served at `/mcp/<name>`, and the browser origins allowed to call
   * them (none by default: a request with an `Origin` header not listed is refused).
   */
  mcp?: { servers: Record<string, McpServerConfig>; allowedOrigins: string[] };
  /** The Claude Code hook: `ask` or `wait` on require_approval, how long to wait, the answer's deadline. */
  hooks: {
    claudeCode: { onApproval: 'ask' | 'wait'; waitSeconds: number; timeoutSeconds: number };
    /** Gemini CLI's hook timeout is 60 s unless its settings say otherwise: the default wait stays under it. */
    geminiCli: { onApproval: 'deny' | 'wait'; waitSeconds: number; timeoutSeconds: number };
  };
  /**
   * Guarded execution: the sandbox (bubblewrap) on unless switched off here, the command's
   * time limit, the output cap per stream, and how long a held command waits for its approval.
   */
  exec: { sandbox: boolean; timeoutSeconds: number; maxOutputBytes: number; approvalWaitSeconds: number };
  /**
   * `bastion audit detect`: rule files and directories (absolute), business hours, and the
   * placeholders' values (`service_accounts`, `expected_networks`, `approvers` and any other).
   * Absent when the file has no `detections` section.
   */
  detections?: {
    rules: string[];
    businessHours: { start: string; end: string; timezone: string; days: string[] };
    placeholders: Record<string, string[]>;
  };
  /** The file the configuration came from, if any. */
  source?: string;
}

export const DEFAULT_CONFIG: BastionConfig = {
  host: '127.0.0.1',
  port: 8700,
  trustProxy: [],
  dataDir: '.bastion',
  policies: [],
  shadowPolicies: [],
  baseline: { enabled: true },
  audit: { durable: true },
  storage: { kind: 'sqlite' },
  proxy: DEFAULT_PROXY,
  dev: false,
  identity: DEFAULT_IDENTITY,
  adminGroups: ['bastion-admins'],
  limits: { onStoreError: 'closed' },
  approvals: { defaultApproverGroups: ['bastion-approvers'], defaultExpirySeconds: 900 },
  hooks: { claudeCode: { onApproval: 'ask', waitSeconds: 120, timeoutSeconds: 30 }, geminiCli: { onApproval: 'deny', waitSeconds: 50, timeoutSeconds: 30 } },
  exec: { sandbox: true, timeoutSeconds: 300, maxOutputBytes: 1_048_576, approvalWaitSeconds: 900 },
};

/**
 * Reads a configuration file; every problem names the file, and where it can, the line,
 * column and field.
 *
 * @example
 * const r = loadConfig('config/bastion.yaml');
 * if (r.ok) console.log(r.value.port); // 8700
 */
export function loadConfig(file: string, cwd = process.cwd()): Result<BastionConfig, BastionError> {
  const path = resolve(cwd, file);
  const at = (pos?: { line: number; column: number }) => `while loading ${quote(file)}: ${pos ? `line ${pos.line}, column ${pos.column}: ` : ''}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, errors: [bastionError('CONFIG_INVALID', `${at()}${e.code === 'ENOENT' ? 'no such file' : (e.message.split('\n')[0] ?? 'cannot read')}`, { file })] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    return {
      ok: false,
      errors: [bastionError('CONFIG_INVALID', `${at({ line: pos.line, column: pos.col })}${syntax.message.split('\n')[0] ?? 'cannot parse'}`, { file, line: pos.line, column: pos.col })],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, errors: [bastionError('CONFIG_INVALID', `${at()}${(err as Error).message.split('\n')[0] ?? 'cannot parse'}`, { file })] };
  }
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    const locate = yamlLocator(doc, lineCounter);
    const problems = schemaProblems(parsed.error.issues, 'CONFIG_INVALID');
    const errors = schemaErrors(problems, (p) => {
      const pos = p.path.length > 0 ? locate(p.path, p.atKey) : undefined;
      return { prefix: at(pos), file, ...(pos ? { line: pos.line, column: pos.column } : {}) };
    });
    // In document order (the schema reports a mapping's unknown keys after its fields).
    return { ok: false, errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)) };
  }
  const config = resolveConfig(parsed.data, path);
  const keys = config.identity.jwt?.keys;
  if (keys !== undefined && keys.kind !== 'jwksUrl' && !existsSync(keys.path)) {
    const pos = yamlLocator(doc, lineCounter)(['identity', 'jwt', keys.kind], false);
    const field = `identity.jwt.${keys.kind}`;
    return {
      ok: false,
      errors: [bastionError('CONFIG_INVALID', `${at(pos)}field ${quote(field)}: no such file ${quote(keys.path)}`, { file, field, ...(pos ? { line: pos.line, column: pos.column } : {}) })],
    };
  }
  return { ok: true, value: config };
}

/** The identity section resolved: defaults filled in, key files against the config's directory. */
function resolveIdentity(c: ConfigFile['identity'], dir: string): IdentityConfig {
  if (c === undefined) return DEFAULT_IDENTITY;
  const identity: IdentityConfig = { apiKeys: c.apiKeys ?? false, headers: withAliases(c.headers ?? {}) };
  const j = c.jwt;
  if (j !== undefined) {
    const keys: JwtConfig['keys'] =
      j.jwksUrl !== undefined
        ? { kind: 'jwksUrl', url: j.jwksUrl }
        : j.jwksFile !== undefined
          ? { kind: 'jwksFile', path: resolve(dir, j.jwksFile) }
          : { kind: 'publicKeyFile', path: resolve(dir, j.publicKeyFile ?? '') };
    identity.jwt = {
      keys,
      issuer: j.issuer,
      audience: j.audience,
      algorithms: [...new Set((j.algorithms ?? DEFAULT_JWT_ALGORITHMS) as JwtAlgorithm[])],
      clockToleranceSeconds: j.clockToleranceSeconds ?? 30,
      requiredClaims: j.requiredClaims ?? [],
      claims: {
        id: j.claims?.id ?? DEFAULT_CLAIMS.id,
        groups: j.claims?.groups ?? DEFAULT_CLAIMS.groups,
        deviceCompliant: j.claims?.deviceCompliant ?? DEFAULT_CLAIMS.deviceCompliant,
        ...(j.claims?.attributes !== undefined ? { attributes: j.claims.attributes } : {}),
      },
      jwksTimeoutSeconds: j.jwksTimeoutSeconds ?? 5,
      jwksCooldownSeconds: j.jwksCooldownSeconds ?? 30,
      jwksMaxAgeSeconds: j.jwksMaxAgeSeconds ?? 600,
    };
  }
  return identity;
}

/** Fills in defaults and resolves the file's paths against its directory. */
function resolveConfig(c: ConfigFile, path: string): BastionConfig {
  const dir = dirname(path);
  const config: BastionConfig = {
    ...DEFAULT_CONFIG,
    host: c.server?.host ?? DEFAULT_CONFIG.host,
    port: c.server?.port ?? DEFAULT_CONFIG.port,
    trustProxy: c.server?.trustProxy ?? DEFAULT_CONFIG.trustProxy,
    source: path,
    dataDir: resolve(dir, c.dataDir ?? DEFAULT_CONFIG.dataDir),
    policies: (c.policies ?? []).map((p) => resolve(dir, p)),
    shadowPolicies: (c.shadowPolicies ?? []).map((p) => resolve(dir, p)),
    baseline: { enabled: c.baseline?.enabled ?? true },
    audit: { durable: c.audit?.durable ?? DEFAULT_CONFIG.audit.durable },
    dev: c.dev ?? false,
    identity: resolveIdentity(c.identity, dir),
    adminGroups: [...new Set(c.admin_groups ?? DEFAULT_CONFIG.adminGroups)],
    limits: {
      onStoreError: c.limits?.onStoreError ?? DEFAULT_CONFIG.limits.onStoreError,
      ...(c.limits?.redis !== undefined ? { redis: c.limits.redis } : {}),
      ...(c.limits?.prefix !== undefined ? { prefix: c.limits.prefix } : {}),
    },
  };
  const cc = c.hooks?.claudeCode;
  const hd = DEFAULT_CONFIG.hooks.claudeCode;
  const gc = c.hooks?.geminiCli;
  const gd = DEFAULT_CONFIG.hooks.geminiCli;
  config.hooks = {
    claudeCode: { onApproval: cc?.onApproval ?? hd.onApproval, waitSeconds: cc?.waitSeconds ?? hd.waitSeconds, timeoutSeconds: cc?.timeoutSeconds ?? hd.timeoutSeconds },
    geminiCli: { onApproval: gc?.onApproval ?? gd.onApproval, waitSeconds: gc?.waitSeconds ?? gd.waitSeconds, timeoutSeconds: gc?.timeoutSeconds ?? gd.timeoutSeconds },
  };
  const ed = DEFAULT_CONFIG.exec;
  config.exec = {
    sandbox: c.exec?.sandbox ?? ed.sandbox,
    timeoutSeconds: c.exec?.timeoutSeconds ?? ed.timeoutSeconds,
    maxOutputBytes: c.exec?.maxOutputBytes ?? ed.maxOutputBytes,
    approvalWaitSeconds: c.exec?.approvalWaitSeconds ?? ed.approvalWaitSeconds,
  };
  if (c.audit?.retentionDays !== undefined) config.audit.retentionDays = c.audit.retentionDays;
  if (c.audit?.siem !== undefined) config.audit.siem = c.audit.siem;
  if (c.audit?.keyDir !== undefined) config.audit.keyDir = resolve(dir, c.audit.keyDir);
  if (c.storage?.kind === 'postgres') config.storage = { kind: 'postgres', ...(c.storage.url !== undefined ? { url: c.storage.url } : {}) };
  if (c.upstream !== undefined) config.upstream = c.upstream;
  if (c.review !== undefined) {
    const r = c.review;
    config.review = {
      ...(r.slackChannel !== undefined ? { slackChannel: r.slackChannel } : {}),
      ...(r.fixtures !== undefined ? { fixtures: resolve(dir, r.fixtures) } : {}),
      ...(r.http !== undefined ? { http: r.http } : {}),
      ...(r.model !== undefined
        ? {
            model: {
              baseUrl: r.model.baseUrl,
              model: r.model.model,
              ...(r.model.apiKeyEnv !== undefined ? { apiKeyEnv: r.model.apiKeyEnv } : {}),
              timeoutMs: r.model.timeout !== undefined ? durationMs(r.model.timeout) : 20_000,
            },
          }
        : {}),
    };
  }
  const classifier = c.scanners?.injection?.classifier;
  if (classifier !== undefined) {
    config.injectionClassifier = {
      url: classifier.url,
      onError: classifier.onError,
      timeoutMs: classifier.timeout !== undefined ? durationMs(classifier.timeout) : 1000,
      threshold: classifier.threshold ?? 0.5,
      ...(classifier.apiKeyEnv !== undefined ? { apiKeyEnv: classifier.apiKeyEnv } : {}),
    };
  }
  if (c.proxy !== undefined) {
    config.proxy = {
      onDeny: c.proxy.onDeny ?? DEFAULT_PROXY.onDeny,
      timeoutMs: c.proxy.timeout !== undefined ? durationMs(c.proxy.timeout) : DEFAULT_PROXY.timeoutMs,
      idleTimeoutMs: c.proxy.idleTimeout !== undefined ? durationMs(c.proxy.idleTimeout) : DEFAULT_PROXY.idleTimeoutMs,
      redactText: c.proxy.redactText ?? DEFAULT_PROXY.redactText,
    };
  }
  if (c.mcp !== undefined) {
    const servers: Record<string, McpServerConfig> = {};
    for (const [name, server] of Object.entries(c.mcp.servers)) servers[name] = server.command !== undefined ? { command: server.command, cwd: dir } : { url: server.url as string };
    config.mcp = { servers, allowedOrigins: c.mcp.allowedOrigins ?? [] };
  }
  config.approvals = {
    defaultApproverGroups: c.approvals?.defaultApproverGroups ?? [...DEFAULT_CONFIG.approvals.defaultApproverGroups],
    defaultExpirySeconds: c.approvals?.defaultExpiry !== undefined ? Math.max(1, Math.ceil(durationMs(c.approvals.defaultExpiry) / 1000)) : DEFAULT_CONFIG.approvals.defaultExpirySeconds,
  };
  if (c.notifications !== undefined) {
    const n = c.notifications;
    const d = DEFAULT_NOTIFICATIONS;
    config.notifications = {
      webhooks: n.webhooks.map((w) => ({ ...w, ...(w.secretFile !== undefined ? { secretFile: resolve(dir, w.secretFile) } : {}), events: w.events ?? [...DEFAULT_WEBHOOK_EVENTS] })),
      retry: {
        attempts: n.retry?.attempts ?? d.retry.attempts,
        initialDelayMs: n.retry?.initialDelay !== undefined ? durationMs(n.retry.initialDelay) : d.retry.initialDelayMs,
        maxDelayMs: n.retry?.maxDelay !== undefined ? durationMs(n.retry.maxDelay) : d.retry.maxDelayMs,
      },
      queueSize: n.queueSize ?? d.queueSize,
      timeoutMs: n.timeout !== undefined ? durationMs(n.timeout) : d.timeoutMs,
    };
  }
  if (c.detections !== undefined) {
    const d = c.detections;
    const placeholders: Record<string, string[]> = { ...d.placeholders };
    if (d.serviceAccounts !== undefined) placeholders['service_accounts'] = d.serviceAccounts;
    if (d.expectedNetworks !== undefined) placeholders['expected_networks'] = d.expectedNetworks;
    if (d.approvers !== undefined) placeholders['approvers'] = d.approvers;
    config.detections = {
      rules: (d.rules ?? []).map((p) => resolve(dir, p)),
      businessHours: {
        start: d.businessHours?.start ?? DEFAULT_BUSINESS_HOURS.start,
        end: d.businessHours?.end ?? DEFAULT_BUSINESS_HOURS.end,
        timezone: d.businessHours?.timezone ?? DEFAULT_BUSINESS_HOURS.timezone,
        days: d.businessHours?.days ?? [...DEFAULT_BUSINESS_HOURS.days],
      },
      placeholders,
    };
  }
  return config;
}
