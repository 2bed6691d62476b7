/**
 * The one error module: every error Bastion reports has a string code and the HTTP status it
 * maps to. `docs/errors.md` lists them all; a test checks the list both ways.
 *
 * Messages follow Cedar's grammar: lowercase, no final period, user input in backticks,
 * context chained with colons.
 */

export const ERROR_CODES = {
  POLICY_PARSE: { status: 400, summary: 'a policy file is not valid YAML or JSON' },
  POLICY_INVALID: { status: 400, summary: 'a policy document does not follow its format' },
  POLICY_FORMAT_UNKNOWN: { status: 400, summary: 'a policy document matches no known format' },
  POLICY_NOT_FOUND: { status: 400, summary: 'a policy path does not exist or cannot be read' },
  POLICY_EMPTY: { status: 400, summary: 'the policy set has no rules' },
  POLICY_DUPLICATE_RULE: { status: 400, summary: 'two rules share one id within a policy' },
  POLICY_BAD_GLOB: { status: 400, summary: 'a glob pattern is malformed' },
  POLICY_BAD_REGEX: { status: 400, summary: 'a regular expression is invalid or cannot run in linear time (back-references, lookaround)' },
  POLICY_BAD_CEL: { status: 400, summary: 'a CEL expression does not compile' },
  REQUEST_INVALID: { status: 400, summary: 'an action request is malformed' },
  INPUT_INVALID: { status: 400, summary: 'command-line input is malformed' },
  CONFIG_INVALID: { status: 400, summary: 'the configuration is invalid: the file, or the options passed to `createGateway`' },
  AUDIT_STORAGE: { status: 500, summary: 'the audit log cannot be opened, read or written' },
  AUDIT_KEY: { status: 500, summary: 'the audit signing key is missing, unreadable, exposed or does not match the log' },
  AUDIT_EVENT_INVALID: { status: 400, summary: 'an audit event does not follow the event schema' },
  AUDIT_NOT_FOUND: { status: 404, summary: 'an audit event or checkpoint does not exist' },
  AUDIT_CLOSED: { status: 503, summary: 'the audit log was closed' },
  AUDIT_UNAVAILABLE: {
    status: 503,
    summary: 'the audit log could not record (its store did not take the write: PostgreSQL down, disk full), so nothing was decided; retry, on another replica if one is up',
  },
  DETECTION_INVALID: { status: 400, summary: 'a Sigma detection rule is not valid YAML, does not follow the rule format or uses something the evaluator does not support' },
  AUDIT_SINK: { status: 502, summary: 'the SIEM endpoint rejected or did not answer a batch' },
  STATE_UNAVAILABLE: {
    status: 503,
    summary: 'a state store cannot reach its server (PostgreSQL down or the connection lost), so nothing was decided; retry, on another replica if one is up',
  },
  STATE_STORAGE: { status: 500, summary: 'a state store (kill switch, approvals, limits, API keys, tool pins, taint, the notification outbox) cannot be opened, read or written, or was closed' },
  APPROVAL_INVALID: { status: 400, summary: "an approval, or an approver's decision on one, is malformed" },
  APPROVAL_NOT_FOUND: { status: 404, summary: 'no approval has this id' },
  APPROVAL_CONFLICT: { status: 409, summary: 'the approval is not in a state that allows this: already decided, expired, consumed, cancelled or bound to another call' },
  LIMIT_INVALID: { status: 400, summary: 'a rate limit or budget is malformed' },
  IDENTITY_MISSING: { status: 401, summary: 'the request carries no credential (`Authorization: Bearer …`), or production mode has no identity configured' },
  IDENTITY_INVALID: {
    status: 401,
    summary:
      'the credential is not accepted: malformed, bad signature, wrong issuer or audience, algorithm not allowed, unknown key, not yet valid, unknown API key, or claims that do not map to a principal',
  },
  IDENTITY_EXPIRED: { status: 401, summary: 'the bearer token has expired (beyond the allowed clock skew)' },
  IDENTITY_REVOKED: { status: 401, summary: 'the API key was revoked' },
  FORBIDDEN: { status: 403, summary: 'the caller is identified but not allowed to do this' },
  LIMIT_EXCEEDED: { status: 429, summary: 'a rate limit, concurrency cap or budget declared in policy refused the call (the decision is in the body, `Retry-After` says when to retry)' },
  NOT_FOUND: { status: 404, summary: 'no such route or resource' },
  METHOD_NOT_ALLOWED: { status: 405, summary: 'the route does not take this method' },
  INTERNAL: { status: 500, summary: 'an unexpected internal error' },
  REQUEST_TOO_LARGE: { status: 413, summary: 'a request body is larger than the limit (1 MiB)' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, summary: 'a request body is not sent as `application/json`' },
  CONNECTOR_FAILED: { status: 502, summary: 'a change-review connector (Jira, GitHub, Confluence, AWS, Slack) could not read or write its system, or answered something malformed' },
  SERVICE_CALL_FAILED: { status: 502, summary: 'a CLI command acting on a running service (`--server URL`) could not reach it, or the service refused the call' },
  UPSTREAM_NOT_CONFIGURED: { status: 503, summary: 'a model-API proxy route was called, but no upstream provider is configured (`--upstream URL` or `upstream:` in the config)' },
  UPSTREAM_UNAVAILABLE: { status: 502, summary: 'the model-API upstream could not be reached, or answered something the proxy cannot read (the stream is then cut off)' },
  UPSTREAM_TIMEOUT: { status: 504, summary: 'the model-API upstream did not answer in time (`proxy.timeout`, `proxy.idleTimeout`)' },
  MCP_UPSTREAM: { status: 502, summary: 'an upstream MCP server did not start, does not answer, or offers no tools' },
  CONDITION_ERROR: { status: 400, summary: "a rule's condition could not be evaluated on a request (reported in the decision, which fails closed)" },
  ANALYSIS_INVALID: { status: 400, summary: 'the analysis passed to `evaluate()` has no valid risk or categories' },
  ANALYSIS_FAILED: { status: 500, summary: 'an analyzer failed on a request (reported in the decision; risk is raised to high)' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code, an HTTP status and, where known, the place it points at. */
export interface BastionError {
  code: ErrorCode;
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** Dotted path of the offending field, e.g. `rules[2].effect`. */
  field?: string;
  /** A stable, machine-readable refinement of the code, e.g. `wrong_audience` for `IDENTITY_INVALID`. */
  reason?: string;
}

export function httpStatus(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** Builds an error value; `message` should already follow the grammar above. */
export function bastionError(code: ErrorCode, message: string, where: Omit<BastionError, 'code' | 'message'> = {}): BastionError {
  return { code, message, ...where };
}

/** Thrown only for programmer misuse or to carry an error value through an async boundary. */
export class BastionException extends Error {
  readonly code: ErrorCode;
  readonly details: BastionError[];

  constructor(errors: BastionError[] | BastionError) {
    const list = Array.isArray(errors) ? errors : [errors];
    super(list.map((e) => e.message).join('\n'));
    this.name = 'BastionException';
    this.code = list[0]?.code ?? 'INTERNAL';
    this.details = list;
  }
}

/** Quotes user input for a message: backticks, control characters escaped, long input cut. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const clean = text.replace(/[\u0000-\u001f\u007f`]/g, (c) => (c === '`' ? "'" : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  // Cut before a surrogate pair, never through it: half a pair cannot be logged (RFC 8785).
  const cut = clean.length > 120 ? (/[\ud800-\udbff]/.test(clean.charAt(116)) ? 116 : 117) : -1;
  return '`' + (cut >= 0 ? clean.slice(0, cut) + '...' : clean) + '`';
}
