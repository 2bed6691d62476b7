/**
 * The Terraform analysis: each changed `.tf` file is parsed with HashiCorp's HCL parser
 * (`@cdktf/hcl2json`, HCL to JSON as Terraform reads it) and the blocks are checked for the
 * standards' problems: S3 buckets without a public access block, IAM policies with wildcard
 * actions or resources (literal `jsonencode(…)` documents, heredoc JSON and
 * `aws_iam_policy_document` data sources are read; anything else is reported as not
 * statically analyzable), security group ingress from `0.0.0.0/0` or `::/0` on
 * administrative and database ports, log groups without retention, unencrypted storage.
 *
 * Fail closed: a file that does not parse, a port or policy that is not a literal, is a
 * finding for a human, never a silent pass. Values that reference other resources (an ARN,
 * a bucket id) are not wildcards.
 */

import { FINDING_SPECS } from './catalogue.js';
import type { Finding, FindingKind, PullRequestFile } from './types.js';

// The HCL parser is Go compiled to WebAssembly: loading it costs about 0.2 s and tens of MB,
// so it is loaded on the first Terraform file, not by every process that imports the review
// (a `bastion hook` run per tool call among them).
let hcl: Promise<typeof import('@cdktf/hcl2json')> | undefined;
async function parse(name: string, source: string): Promise<unknown> {
  hcl ??= import('@cdktf/hcl2json');
  return (await hcl).parse(name, source);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: Json | undefined): Json[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
/** A value that is a Terraform expression (`${…}`), not a literal. */
const isExpression = (v: Json | undefined): boolean => typeof v === 'string' && v.includes('${');

/** Ports whose exposure to the internet the standard forbids: remote administration and databases. */
export const ADMIN_PORTS: readonly number[] = [22, 23, 3389, 5985, 5986, 1433, 1521, 3306, 5432, 5439, 6379, 9200, 11211, 27017];
const OPEN_CIDRS = ['0.0.0.0/0', '::/0'];
/** A Terraform file larger than this is not parsed (a human reviews it): the parser's memory stays bounded. */
export const MAX_TERRAFORM_FILE = 1024 * 1024;

interface Block {
  type: string;
  name: string;
  body: Obj;
  file: string;
  line: number | undefined;
  kind: 'resource' | 'data';
  /** The file's text, to point a finding at the line inside the block where the problem is. */
  source: string;
}

/**
 * The line of the first occurrence of `needle` inside a block (from its header to the next
 * top-level block); the header's line when the needle is not found.
 */
function lineIn(block: Block, needle: string): number | undefined {
  if (block.line === undefined) return undefined;
  const lines = block.source.split('\n');
  for (let i = block.line; i < lines.length; i++) {
    const text = lines[i] as string;
    if (/^(resource|data|module|locals|variable|output|provider|terraform)\b/.test(text)) break;
    if (text.includes(needle)) return i + 1;
  }
  return block.line;
}

/** The 1-based line of `resource "type" "name"` (or `data …`) in the source. */
function blockLine(source: string, kind: string, type: string, name: string): number | undefined {
  const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`^\\s*${kind}\\s+"${escapeRe(type)}"\\s+"${escapeRe(name)}"`, 'm');
  const m = re.exec(source);
  if (m === null) return undefined;
  return source.slice(0, m.index + m[0].length).split('\n').length;
}

function blocksOf(doc: Obj, kind: 'resource' | 'data', file: string, source: string): Block[] {
  const out: Block[] = [];
  const section = doc[kind];
  if (!isObj(section)) return out;
  for (const [type, byName] of Object.entries(section)) {
    if (!isObj(byName)) continue;
    for (const [name, bodies] of Object.entries(byName)) {
      for (const body of list(bodies)) if (isObj(body)) out.push({ type, name, body, file, line: blockLine(source, kind, type, name), kind, source });
    }
  }
  return out;
}

/** A finding of `kind` at a block, with the catalogue's wording unless `message` replaces it. */
function at(kind: FindingKind, block: Pick<Block, 'file' | 'line' | 'type' | 'name'> | { file: string; line?: number }, evidence: string, message?: string, line?: number): Finding {
  const spec = FINDING_SPECS[kind];
  const resource = 'type' in block ? `${block.type}.${block.name}` : undefined;
  return {
    kind,
    message: message ?? spec.message,
    severity: spec.severity,
    remediation: spec.remediation,
    file: block.file,
    ...((line ?? block.line) !== undefined ? { line: (line ?? block.line) as number } : {}),
    ...(resource !== undefined ? { resource } : {}),
    evidence,
  };
}

/** The parsed files: blocks, and a finding for each file the parser refused. */
export interface ParsedTerraform {
  blocks: Block[];
  findings: Finding[];
}

/**
 * Parses the Terraform files of a pull request (removed files and other files are skipped).
 *
 * @example const parsed = await parseTerraform([{ path: 'main.tf', status: 'added', content: 'resource "aws_s3_bucket" "b" {}' }]);
 */
export async function parseTerraform(files: readonly PullRequestFile[]): Promise<ParsedTerraform> {
  const blocks: Block[] = [];
  const findings: Finding[] = [];
  for (const file of files) {
    if (file.status === 'removed' || !file.path.endsWith('.tf')) continue;
    const source = file.content ?? '';
    if (source.length > MAX_TERRAFORM_FILE) {
      findings.push(at('terraform_unparsed', { file: file.path }, `larger than ${MAX_TERRAFORM_FILE} characters`));
      continue;
    }
    let doc: unknown;
    try {
      doc = await parse(file.path, source);
    } catch (err) {
      const first =
        String((err as Error).message ?? err)
          .replace(/^parse config: \[?/, '')
          .split(';')[0] ?? 'parse error';
      const line = /:(\d+),\d+/.exec(first)?.[1];
      findings.push(at('terraform_unparsed', { file: file.path, ...(line !== undefined ? { line: Number(line) } : {}) }, first.slice(0, 200)));
      continue;
    }
    if (!isObj(doc)) continue;
    // In the file's order (the parser groups blocks by type).
    blocks.push(...[...blocksOf(doc, 'resource', file.path, source), ...blocksOf(doc, 'data', file.path, source)].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
  }
  return { blocks, findings };
}

// ---------------------------------------------------------------------------------------
// S3

const PAB_FLAGS = ['block_public_acls', 'block_public_policy', 'ignore_public_acls', 'restrict_public_buckets'];

function enforcesAll(body: Obj): boolean {
  return PAB_FLAGS.every((f) => body[f] === true);
}

function s3Findings(blocks: readonly Block[]): Finding[] {
  const resources = blocks.filter((b) => b.kind === 'resource');
  if (resources.some((b) => b.type === 'aws_s3_account_public_access_block' && enforcesAll(b.body))) return [];
  const blocksAll = resources.filter((b) => b.type === 'aws_s3_bucket_public_access_block' && enforcesAll(b.body));
  const out: Finding[] = [];
  for (const bucket of resources.filter((b) => b.type === 'aws_s3_bucket')) {
    const literal = bucket.body['bucket'];
    const ref = new RegExp(`\\baws_s3_bucket\\.${bucket.name}\\.(id|bucket)\\b`);
    const covered = blocksAll.some((p) => {
      const target = p.body['bucket'];
      return typeof target === 'string' && (ref.test(target) || (typeof literal === 'string' && !isExpression(literal) && target === literal));
    });
    if (!covered) out.push(at('s3_public_access_block', bucket, `no aws_s3_bucket_public_access_block with all four settings true for aws_s3_bucket.${bucket.name}`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// IAM

interface Statement {
  effect: string;
  actions: Json[];
  notActions: boolean;
  resources: Json[];
}

/** The statements of a JSON policy document (`Statement` is one object or a list). */
function jsonStatements(doc: Json): Statement[] | undefined {
  if (!isObj(doc)) return undefined;
  const raw = doc['Statement'];
  // A Statement that is an expression (`local.statements`, a `for`) cannot be read: not a pass.
  if (raw === undefined || !list(raw).every(isObj)) return undefined;
  return list(raw)
    .filter(isObj)
    .map((s) => ({
      effect: typeof s['Effect'] === 'string' ? s['Effect'] : 'Allow',
      actions: list(s['Action'] ?? s['NotAction']),
      notActions: s['Action'] === undefined && s['NotAction'] !== undefined,
      resources: list(s['Resource'] ?? s['NotResource']),
    }));
}

/** The statements of an `aws_iam_policy_document` data source (`effect` defaults to Allow). */
function dataStatements(body: Obj): Statement[] {
  return list(body['statement'])
    .filter(isObj)
    .map((s) => ({
      effect: typeof s['effect'] === 'string' ? s['effect'] : 'Allow',
      actions: list(s['actions'] ?? s['not_actions']),
      notActions: s['actions'] === undefined && s['not_actions'] !== undefined,
      resources: list(s['resources'] ?? s['not_resources']),
    }));
}

/** The inner expression of `${jsonencode(…)}`, when the whole value is one call. */
function jsonencodeArgument(value: string): string | undefined {
  const m = /^\$\{\s*jsonencode\(([\s\S]*)\)\s*\}$/.exec(value.trim());
  return m?.[1];
}

/** Reads a policy value statically: literal JSON, a literal jsonencode() or a policy document reference. */
async function policyStatements(value: Json | undefined, documents: ReadonlyMap<string, Block>): Promise<Statement[] | undefined> {
  if (isObj(value)) return jsonStatements(value);
  if (typeof value !== 'string') return undefined;
  if (!isExpression(value)) {
    try {
      return jsonStatements(JSON.parse(value) as Json);
    } catch {
      return undefined;
    }
  }
  const ref = /^\$\{\s*data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json\s*\}$/.exec(value.trim());
  if (ref) {
    const doc = documents.get(ref[1] as string);
    return doc ? dataStatements(doc.body) : undefined;
  }
  const inner = jsonencodeArgument(value);
  if (inner === undefined) return undefined;
  try {
    // The argument is an HCL expression: as a local's value the parser turns a literal object into JSON.
    const parsed = (await parse('jsonencode.tf', `locals {\n  document = ${inner}\n}\n`)) as unknown;
    const locals = isObj(parsed) ? list(parsed['locals'] as Json) : [];
    const first = locals.find(isObj);
    const documentValue = first?.['document'];
    return documentValue === undefined || typeof documentValue === 'string' ? undefined : jsonStatements(documentValue);
  } catch {
    return undefined;
  }
}

/** Whether a statement's actions can be read: none of them is an expression (`var.actions`, `local.x`). */
const actionsKnown = (statements: readonly Statement[]): boolean => statements.every((s) => s.actions.every((a) => typeof a === 'string' && !isExpression(a)));

const POLICY_RESOURCES = new Set(['aws_iam_policy', 'aws_iam_role_policy', 'aws_iam_user_policy', 'aws_iam_group_policy']);

function wildcardFindings(block: Block, statements: readonly Statement[]): Finding[] {
  const out: Finding[] = [];
  for (const s of statements) {
    if (s.effect.toLowerCase() !== 'allow') continue;
    const literal = (v: Json) => typeof v === 'string' && !isExpression(v);
    const wildActions = s.actions.filter((a) => literal(a) && (a as string).includes('*')).map(String);
    if (s.notActions) out.push(at('iam_wildcard_action', block, 'Allow with NotAction (every action but those listed)', undefined, lineIn(block, 'ot_action') ?? lineIn(block, 'otAction')));
    else if (wildActions.length > 0) out.push(at('iam_wildcard_action', block, wildActions.join(', '), undefined, lineIn(block, `"${wildActions[0]}"`)));
    if (s.resources.some((r) => r === '*')) {
      const finding = at('iam_wildcard_resource', block, 'Resource "*"', undefined, lineIn(block, '"*"'));
      // Every action on every resource is administrator access.
      if (wildActions.includes('*')) finding.severity = 'critical';
      out.push(finding);
    }
  }
  return out;
}

async function iamFindings(blocks: readonly Block[]): Promise<Finding[]> {
  const documents = new Map(blocks.filter((b) => b.kind === 'data' && b.type === 'aws_iam_policy_document').map((b) => [b.name, b]));
  const out: Finding[] = [];
  // In file order: a data source's findings at its own line, a resource's at its line.
  for (const block of blocks) {
    if (block.kind === 'data' && block.type === 'aws_iam_policy_document') {
      // `dynamic "statement"` blocks and actions from variables are built at plan time.
      const statements = dataStatements(block.body);
      if (block.body['dynamic'] !== undefined || !actionsKnown(statements))
        out.push(at('iam_policy_unresolved', block, block.body['dynamic'] !== undefined ? 'dynamic statement blocks' : 'actions that are not literals'));
      out.push(...wildcardFindings(block, statements));
      continue;
    }
    if (block.kind !== 'resource') continue;
    const values: Json[] = [];
    if (POLICY_RESOURCES.has(block.type)) values.push(block.body['policy'] ?? null);
    if (block.type === 'aws_iam_role') for (const inline of list(block.body['inline_policy']).filter(isObj)) values.push(inline['policy'] ?? null);
    for (const value of values) {
      const isDocRef = typeof value === 'string' && /^\$\{\s*data\.aws_iam_policy_document\.[A-Za-z0-9_-]+\.json\s*\}$/.test(value.trim());
      const statements = await policyStatements(value, documents);
      if (statements === undefined || (!isDocRef && !actionsKnown(statements))) {
        out.push(at('iam_policy_unresolved', block, statements !== undefined ? 'actions that are not literals' : typeof value === 'string' ? value.slice(0, 120) : 'no policy document'));
        if (statements === undefined) continue;
      }
      // A referenced data source was checked above, once, at its own line.
      if (!isDocRef) out.push(...wildcardFindings(block, statements));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Security groups

interface Ingress {
  from: Json | undefined;
  to: Json | undefined;
  protocol: Json | undefined;
  cidrs: Json[];
}

const NON_TCP_UDP = new Set(['icmp', '1', 'icmpv6', '58']);

/** The administrative ports an ingress rule opens, or `any` when its ports are not literals. */
function adminPortsOpened(rule: Ingress): number[] | 'any' {
  const protocol = typeof rule.protocol === 'string' ? rule.protocol.toLowerCase() : rule.protocol;
  if (typeof protocol === 'string' && NON_TCP_UDP.has(protocol)) return [];
  if (protocol === '-1' || protocol === 'all' || protocol === -1) return [...ADMIN_PORTS];
  const from = typeof rule.from === 'string' && /^-?\d+$/.test(rule.from) ? Number(rule.from) : rule.from;
  const to = typeof rule.to === 'string' && /^-?\d+$/.test(rule.to) ? Number(rule.to) : rule.to;
  if (typeof from !== 'number' || typeof to !== 'number') return 'any';
  if (from === -1 || (from === 0 && to === 0) || (from === 0 && to === 65535)) return [...ADMIN_PORTS];
  return ADMIN_PORTS.filter((p) => p >= from && p <= to);
}

function ingressOf(block: Block): Ingress[] {
  const b = block.body;
  if (block.type === 'aws_security_group') {
    const rules = list(b['ingress']).filter(isObj);
    const dynamic = isObj(b['dynamic']) ? list(b['dynamic']['ingress']).filter(isObj) : [];
    for (const d of dynamic) rules.push(...list(d['content']).filter(isObj));
    return rules.map((r) => ({ from: r['from_port'], to: r['to_port'], protocol: r['protocol'], cidrs: [...list(r['cidr_blocks']), ...list(r['ipv6_cidr_blocks'])] }));
  }
  if (block.type === 'aws_security_group_rule' && b['type'] === 'ingress') {
    return [{ from: b['from_port'], to: b['to_port'], protocol: b['protocol'], cidrs: [...list(b['cidr_blocks']), ...list(b['ipv6_cidr_blocks'])] }];
  }
  if (block.type === 'aws_vpc_security_group_ingress_rule') {
    return [{ from: b['from_port'], to: b['to_port'], protocol: b['ip_protocol'], cidrs: [b['cidr_ipv4'] ?? null, b['cidr_ipv6'] ?? null] }];
  }
  return [];
}

function securityGroupFindings(blocks: readonly Block[]): Finding[] {
  const out: Finding[] = [];
  for (const block of blocks) {
    if (block.kind !== 'resource') continue;
    for (const rule of ingressOf(block)) {
      const open = OPEN_CIDRS.filter((c) => rule.cidrs.includes(c));
      if (open.length === 0) continue;
      const ports = adminPortsOpened(rule);
      if (ports !== 'any' && ports.length === 0) continue;
      const portText = ports === 'any' ? 'ports that are not literals' : `port ${ports.join(', ')}`;
      for (const cidr of open) {
        out.push(at('sg_open_admin_port', block, `${portText} from ${cidr}`, `Security group allows inbound access from ${cidr} on an administrative port.`, lineIn(block, `"${cidr}"`)));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Logs and storage

function logRetentionFindings(blocks: readonly Block[]): Finding[] {
  return blocks
    .filter((b) => b.kind === 'resource' && b.type === 'aws_cloudwatch_log_group')
    .filter((b) => {
      const days = b.body['retention_in_days'];
      // 0 means "never expire": no retention defined.
      return days === undefined || days === null || days === 0 || days === '0';
    })
    .map((b) => at('log_retention_missing', b, 'no retention_in_days'));
}

/** Storage resources and the attribute that must be true for encryption at rest. */
const ENCRYPTION_ATTRIBUTE: Readonly<Record<string, string>> = {
  aws_ebs_volume: 'encrypted',
  aws_db_instance: 'storage_encrypted',
  aws_rds_cluster: 'storage_encrypted',
  aws_docdb_cluster: 'storage_encrypted',
  aws_neptune_cluster: 'storage_encrypted',
  aws_efs_file_system: 'encrypted',
  aws_elasticache_replication_group: 'at_rest_encryption_enabled',
};

function encryptionFindings(blocks: readonly Block[]): Finding[] {
  const out: Finding[] = [];
  for (const block of blocks) {
    const attribute = ENCRYPTION_ATTRIBUTE[block.type];
    if (block.kind !== 'resource' || attribute === undefined) continue;
    // An Aurora instance's storage is the cluster's, checked on the cluster.
    const engine = block.body['engine'];
    if (block.type === 'aws_db_instance' && typeof engine === 'string' && engine.startsWith('aurora')) continue;
    const value = block.body[attribute];
    if (value === true || value === 'true' || isExpression(value)) continue;
    out.push(at('storage_unencrypted', block, `${attribute} is ${value === undefined ? 'not set' : JSON.stringify(value)}`));
  }
  return out;
}

/**
 * Every finding in the Terraform of a pull request, in file and block order per check.
 *
 * @example (await analyzeTerraform(files)).map((f) => f.kind) // ['s3_public_access_block', …]
 */
export async function analyzeTerraform(files: readonly PullRequestFile[]): Promise<Finding[]> {
  const { blocks, findings } = await parseTerraform(files);
  return [...findings, ...s3Findings(blocks), ...(await iamFindings(blocks)), ...securityGroupFindings(blocks), ...logRetentionFindings(blocks), ...encryptionFindings(blocks)];
}
