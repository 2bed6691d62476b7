/**
 * The real systems behind the six tools, over their documented REST APIs (no SDKs):
 *
 * - Jira Cloud REST v3: `GET /rest/api/3/issue/{key}` (the description and the rollback field
 *   in Atlassian Document Format, read as text), `POST /rest/api/3/issue/{key}/comment` (the
 *   comment as ADF); basic auth with an account e-mail and API token.
 * - GitHub REST: `GET /repos/{owner}/{repo}/pulls/{n}`, its `/files` (paginated by `Link`,
 *   100 a page), each file's content at the head commit (`/contents/{path}?ref=`, raw media
 *   type); bearer token.
 * - Confluence Cloud REST v2: `GET /wiki/api/v2/pages/{id}?body-format=storage`, each standard a
 *   line `ID: text` (a list item, paragraph or table row) of the page.
 * - Slack Web API: `POST /api/chat.postMessage` (`{ok, ts}` or `{ok: false, error}`); bot token.
 * - AWS, read-only, SigV4-signed: STS `GetCallerIdentity` (the account id) and EC2
 *   `DescribeVpcs` in the configured region.
 *
 * Tokens come from the gateway's configuration, never from a request. Rate limits, errors and
 * malformed answers are handled by `http.ts`.
 */

import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import { httpRequest, jsonOf, nextLink, type HttpOptions } from './http.js';
import { signV4, type AwsCredentials } from './sigv4.js';
import type { AccountMetadata, ChangeTicket, FileStatus, PullRequestFile, ReviewBackend, StandardsPage } from './types.js';

export interface HttpBackendOptions {
  jira: { baseUrl: string; email: string; apiToken: string; rollbackField?: string };
  github: { baseUrl?: string; owner: string; token: string; maxFiles?: number };
  confluence: { baseUrl: string; email: string; apiToken: string; standardsPageId: string };
  slack: { baseUrl?: string; token: string };
  aws: { environment: string; alias?: string; region: string; credentials: AwsCredentials; stsEndpoint?: string; ec2Endpoint?: string };
  http?: HttpOptions;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const malformed = (what: string, field: string) => fail(bastionError('CONNECTOR_FAILED', `${what}: the answer has no valid \`${field}\``));
const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The text of an Atlassian Document Format node (blocks end in a newline), or a plain string. */
export function adfText(node: unknown): string {
  if (typeof node === 'string') return node;
  if (!isObj(node)) return '';
  if (node['type'] === 'text') return str(node['text']) ?? '';
  if (node['type'] === 'hardBreak') return '\n';
  const inner = Array.isArray(node['content']) ? (node['content'] as unknown[]).map(adfText).join('') : '';
  return ['paragraph', 'heading', 'listItem', 'codeBlock', 'blockquote', 'tableRow'].includes(String(node['type'])) ? `${inner.replace(/\n$/, '')}\n` : inner;
}

/** A comment as ADF: a heading for `#` lines, a bullet list for `- ` lines, else paragraphs. */
export function toAdf(text: string): Json {
  const content: Json[] = [];
  const paragraph = (t: string): Json => ({ type: 'paragraph', content: [{ type: 'text', text: t }] });
  let list: Json[] | undefined;
  for (const line of text.split('\n')) {
    const bullet = /^\s*- (.*)$/.exec(line);
    if (bullet) {
      if (list === undefined) {
        list = [];
        content.push({ type: 'bulletList', content: list });
      }
      list.push({ type: 'listItem', content: [paragraph(bullet[1] as string)] });
      continue;
    }
    list = undefined;
    if (line.trim() === '') continue;
    const heading = /^(#{1,6}) (.*)$/.exec(line);
    if (heading) content.push({ type: 'heading', attrs: { level: (heading[1] as string).length }, content: [{ type: 'text', text: heading[2] as string }] });
    else content.push(paragraph(line));
  }
  return { type: 'doc', version: 1, content };
}

/** Standards from a Confluence storage-format page: each block whose text reads `ID: text`. */
export function standardsFromStorage(html: string): { id: string; text: string }[] {
  const decode = (s: string) =>
    s
      .replace(/<[^>]+>/g, ' ')
      .replace(/&nbsp;/g, ' ')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, ' ')
      .trim();
  const out: { id: string; text: string }[] = [];
  for (const m of html.matchAll(/<(li|p|tr)\b[^>]*>([\s\S]*?)<\/\1>/gi)) {
    const text = decode(m[2] as string);
    const s = /^([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\s*[:\u2013\u2014-]\s*(.+)$/.exec(text);
    if (s && !out.some((o) => o.id === s[1])) out.push({ id: s[1] as string, text: s[2] as string });
  }
  return out;
}

const GITHUB_STATUS: Readonly<Record<string, FileStatus>> = {
  added: 'added',
  removed: 'removed',
  modified: 'modified',
  changed: 'modified',
  copied: 'added',
  renamed: 'renamed',
  unchanged: 'modified',
};

/**
 * @example const backend = httpBackend({ jira: {…}, github: {…}, confluence: {…}, slack: {…}, aws: {…} });
 */
export function httpBackend(options: HttpBackendOptions): ReviewBackend {
  const http = options.http ?? {};
  const basic = (email: string, token: string) => `Basic ${Buffer.from(`${email}:${token}`).toString('base64')}`;
  const jiraBase = trimSlash(options.jira.baseUrl);
  const jiraAuth = { authorization: basic(options.jira.email, options.jira.apiToken), accept: 'application/json' };
  const gh = { base: trimSlash(options.github.baseUrl ?? 'https://api.github.com'), owner: options.github.owner };
  const ghHeaders = { authorization: `Bearer ${options.github.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  const maxFiles = options.github.maxFiles ?? 300;

  const getJson = async (what: string, url: string, headers: Record<string, string>): Promise<Result<{ json: unknown; headers: Headers }, BastionError>> => {
    const r = await httpRequest(what, url, { method: 'GET', headers }, http);
    if (!r.ok) return r;
    const j = jsonOf(what, r.value);
    return j.ok ? ok({ json: j.value, headers: r.value.headers }) : j;
  };

  const awsGet = async (what: string, endpoint: string, service: string, query: string): Promise<Result<string, BastionError>> => {
    const url = new URL(`${trimSlash(endpoint)}/?${query}`);
    const headers = signV4({ method: 'GET', url, region: options.aws.region, service, credentials: options.aws.credentials });
    const r = await httpRequest(what, url.toString(), { method: 'GET', headers }, http);
    return r.ok ? ok(r.value.text) : r;
  };

  return {
    async readTicket(key) {
      const what = `jira: issue ${quote(key)}`;
      const field = options.jira.rollbackField;
      const fields = ['summary', 'description', 'status', 'environment', 'reporter', ...(field ? [field] : [])].join(',');
      const r = await getJson(what, `${jiraBase}/rest/api/3/issue/${encodeURIComponent(key)}?fields=${fields}`, jiraAuth);
      if (!r.ok) return r.errors[0]?.code === 'NOT_FOUND' ? fail(bastionError('NOT_FOUND', `ticket ${quote(key)} not found`)) : r;
      const f = isObj(r.value.json) ? r.value.json['fields'] : undefined;
      if (!isObj(f)) return malformed(what, 'fields');
      const summary = str(f['summary']);
      if (summary === undefined) return malformed(what, 'fields.summary');
      const rollback = field ? adfText(f[field]).trim() : '';
      const ticket: ChangeTicket = { key, summary, description: adfText(f['description']).trim(), rollbackPlan: rollback === '' ? null : rollback };
      const status = isObj(f['status']) ? str(f['status']['name']) : undefined;
      if (status) ticket.status = status;
      const environment = adfText(f['environment']).trim();
      if (environment) ticket.environment = environment;
      const reporter = isObj(f['reporter']) ? (str(f['reporter']['emailAddress']) ?? str(f['reporter']['displayName'])) : undefined;
      if (reporter) ticket.reporter = reporter;
      return ok(ticket);
    },
    async readPullRequest(repository, number) {
      const repo = `${encodeURIComponent(gh.owner)}/${encodeURIComponent(repository)}`;
      const what = `github: pull request ${quote(`${gh.owner}/${repository}#${number}`)}`;
      const pr = await getJson(what, `${gh.base}/repos/${repo}/pulls/${number}`, ghHeaders);
      if (!pr.ok) return pr.errors[0]?.code === 'NOT_FOUND' ? fail(bastionError('NOT_FOUND', `pull request ${quote(`${repository}#${number}`)} not found`)) : pr;
      const p = pr.value.json;
      if (!isObj(p) || typeof p['number'] !== 'number') return malformed(what, 'number');
      const sha = isObj(p['head']) ? str(p['head']['sha']) : undefined;
      if (sha === undefined) return malformed(what, 'head.sha');
      const listed: { path: string; status: FileStatus }[] = [];
      for (let url: string | undefined = `${gh.base}/repos/${repo}/pulls/${number}/files?per_page=100`; url !== undefined; ) {
        const page = await getJson(`${what} files`, url, ghHeaders);
        if (!page.ok) return page;
        if (!Array.isArray(page.value.json)) return malformed(`${what} files`, '[]');
        for (const f of page.value.json as unknown[]) {
          const path = isObj(f) ? str(f['filename']) : undefined;
          const status = isObj(f) ? GITHUB_STATUS[String(f['status'])] : undefined;
          if (path === undefined || status === undefined) return malformed(`${what} files`, 'filename/status');
          listed.push({ path, status });
        }
        // Fail closed: a review that could not see every file is no review.
        if (listed.length > maxFiles) return fail(bastionError('CONNECTOR_FAILED', `${what}: more than ${maxFiles} changed files; review it by hand`));
        url = nextLink(page.value.headers);
      }
      const files: PullRequestFile[] = [];
      for (const f of listed) {
        if (f.status === 'removed') {
          files.push(f);
          continue;
        }
        const path = f.path.split('/').map(encodeURIComponent).join('/');
        const r = await httpRequest(
          `${what} file ${quote(f.path)}`,
          `${gh.base}/repos/${repo}/contents/${path}?ref=${sha}`,
          { method: 'GET', headers: { ...ghHeaders, accept: 'application/vnd.github.raw+json' } },
          http,
        );
        if (!r.ok) return r;
        files.push({ ...f, content: r.value.text });
      }
      const author = isObj(p['user']) ? str(p['user']['login']) : undefined;
      return ok({ repository, number, title: str(p['title']) ?? '', body: str(p['body']) ?? '', ...(str(p['state']) ? { state: p['state'] as string } : {}), ...(author ? { author } : {}), files });
    },
    async readStandards() {
      const c = options.confluence;
      const what = `confluence: page ${quote(c.standardsPageId)}`;
      const r = await getJson(what, `${trimSlash(c.baseUrl)}/wiki/api/v2/pages/${encodeURIComponent(c.standardsPageId)}?body-format=storage`, {
        authorization: basic(c.email, c.apiToken),
        accept: 'application/json',
      });
      if (!r.ok) return r;
      const page = r.value.json;
      const html = isObj(page) && isObj(page['body']) && isObj(page['body']['storage']) ? str(page['body']['storage']['value']) : undefined;
      if (html === undefined) return malformed(what, 'body.storage.value');
      const standards = standardsFromStorage(html);
      if (standards.length === 0) return fail(bastionError('CONNECTOR_FAILED', `${what}: no standard (a line \`ID: text\`) on the page`));
      const result: StandardsPage = { pageId: c.standardsPageId, title: isObj(page) ? (str(page['title']) ?? '') : '', standards };
      return ok(result);
    },
    async describeAccount(account) {
      const a = options.aws;
      if (account !== a.environment) return fail(bastionError('NOT_FOUND', `AWS account ${quote(account)} is not configured (only ${quote(a.environment)})`));
      const sts = await awsGet('aws: sts GetCallerIdentity', a.stsEndpoint ?? `https://sts.${a.region}.amazonaws.com`, 'sts', 'Action=GetCallerIdentity&Version=2011-06-15');
      if (!sts.ok) return sts;
      const accountId = /<Account>(\d{12})<\/Account>/.exec(sts.value)?.[1];
      if (accountId === undefined) return malformed('aws: sts GetCallerIdentity', 'Account');
      const ec2 = await awsGet('aws: ec2 DescribeVpcs', a.ec2Endpoint ?? `https://ec2.${a.region}.amazonaws.com`, 'ec2', 'Action=DescribeVpcs&Version=2016-11-15');
      if (!ec2.ok) return ec2;
      const ranges = [...ec2.value.matchAll(/<cidrBlock>([0-9./]+)<\/cidrBlock>/g)].map((m) => m[1] as string);
      const meta: AccountMetadata = { account: a.alias ?? accountId, accountId, region: a.region, environment: a.environment, approvedAdminRanges: [...new Set(ranges)] };
      return ok(meta);
    },
    async addComment(ticket, body) {
      const what = `jira: comment on ${quote(ticket)}`;
      const r = await httpRequest(
        what,
        `${jiraBase}/rest/api/3/issue/${encodeURIComponent(ticket)}/comment`,
        { method: 'POST', headers: { ...jiraAuth, 'content-type': 'application/json' }, body: JSON.stringify({ body: toAdf(body) }) },
        http,
      );
      if (!r.ok) return r;
      const j = jsonOf(what, r.value);
      if (!j.ok) return j;
      const id = isObj(j.value) ? str(j.value['id']) : undefined;
      return id === undefined ? malformed(what, 'id') : ok({ id });
    },
    async postMessage(channel, text) {
      const what = `slack: chat.postMessage to ${quote(channel)}`;
      const url = `${trimSlash(options.slack.baseUrl ?? 'https://slack.com')}/api/chat.postMessage`;
      const r = await httpRequest(
        what,
        url,
        { method: 'POST', headers: { authorization: `Bearer ${options.slack.token}`, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ channel, text }) },
        http,
      );
      if (!r.ok) return r;
      const j = jsonOf(what, r.value);
      if (!j.ok) return j;
      // Slack answers 200 with `ok: false` for its own errors (channel_not_found, not_in_channel, invalid_auth …).
      if (!isObj(j.value) || j.value['ok'] !== true) return fail(bastionError('CONNECTOR_FAILED', `${what}: ${isObj(j.value) ? (str(j.value['error']) ?? 'not ok') : 'not ok'}`));
      const ts = str(j.value['ts']);
      return ts === undefined ? malformed(what, 'ts') : ok({ ts });
    },
  };
}
