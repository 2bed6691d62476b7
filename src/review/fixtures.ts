/**
 * The fixture-backed systems of the demo: tickets, pull requests, standards and account
 * metadata read from a directory (`examples/change-review/` by default), and the two writes
 * kept in an outbox the caller can read (a test, the CLI). Same contract as the HTTP
 * clients: a missing ticket is `NOT_FOUND`, a malformed file `CONNECTOR_FAILED`.
 *
 *   tickets/<KEY>.jsonc                 {key, summary, description, status, environment, reporter, rollback_plan}
 *   pulls/<repository>/<number>.jsonc   {number, title, body, state, author, files[{path, status}]}
 *   pulls/<repository>/<number>/<path>  each changed file's content at the head
 *   confluence/standards.jsonc          {page_id, title, standards[{id, text}]}
 *   aws/<account>.jsonc                 {account, account_id, environment, region, approved_admin_ranges}
 *
 * `.jsonc`, not `.json`: the data sits under `examples/`, which loads as a policy directory
 * (`bastion serve --policy examples`), and a policy directory reads every `.json` file. Whole
 * lines starting with `//` are comments.
 */

import { readFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bastionError, quote, type BastionError } from '../core/errors.js';
import { fail, ok, type Result } from '../core/result.js';
import type { AccountMetadata, ChangeTicket, FileStatus, PullRequest, ReviewBackend, StandardsPage } from './types.js';

/** The demo's data as shipped in the package. */
export const DEFAULT_FIXTURES_DIR = fileURLToPath(new URL('../../examples/change-review/', import.meta.url));

export interface Outbox {
  comments: { id: string; ticket: string; body: string }[];
  messages: { ts: string; channel: string; text: string }[];
}

export interface FixtureBackend extends ReviewBackend {
  /** What the review posted, in order. */
  readonly outbox: Outbox;
}

const FILE_STATUSES: readonly FileStatus[] = ['added', 'modified', 'removed', 'renamed'];
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * @example const backend = fixtureBackend(DEFAULT_FIXTURES_DIR); await backend.readTicket('CHG-18422');
 */
export function fixtureBackend(root: string = DEFAULT_FIXTURES_DIR): FixtureBackend {
  const base = resolve(root);
  const outbox: Outbox = { comments: [], messages: [] };

  /** A file under the root; names come validated, the check keeps a path from leaving it anyway. */
  const read = async (what: string, ...parts: string[]): Promise<Result<string, BastionError>> => {
    const path = resolve(join(base, ...parts));
    if (!path.startsWith(base + sep)) return fail(bastionError('NOT_FOUND', `${what} not found`));
    try {
      return ok(await readFile(path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fail(bastionError('NOT_FOUND', `${what} not found`));
      return fail(bastionError('CONNECTOR_FAILED', `${what}: cannot read \`${path}\`: ${(err as Error).message}`));
    }
  };
  const readJson = async (what: string, ...parts: string[]): Promise<Result<Record<string, unknown>, BastionError>> => {
    const text = await read(what, ...parts);
    if (!text.ok) return text;
    try {
      const value: unknown = JSON.parse(text.value.replace(/^\s*\/\/.*$/gm, ''));
      if (isRecord(value)) return ok(value);
    } catch {
      // reported below
    }
    return fail(bastionError('CONNECTOR_FAILED', `${what}: \`${join(...parts)}\` is not a JSON object`));
  };
  const malformed = (what: string, field: string) => fail(bastionError('CONNECTOR_FAILED', `${what}: field \`${field}\` is missing or has the wrong type`));

  return {
    outbox,
    async readTicket(key) {
      const what = `ticket ${quote(key)}`;
      const doc = await readJson(what, 'tickets', `${key}.jsonc`);
      if (!doc.ok) return doc;
      const d = doc.value;
      const summary = str(d['summary']);
      if (summary === undefined) return malformed(what, 'summary');
      const rollback = d['rollback_plan'];
      if (rollback !== null && rollback !== undefined && typeof rollback !== 'string') return malformed(what, 'rollback_plan');
      const ticket: ChangeTicket = { key, summary, description: str(d['description']) ?? '', rollbackPlan: rollback ?? null };
      for (const field of ['status', 'environment', 'reporter'] as const) {
        const v = str(d[field]);
        if (v !== undefined) ticket[field] = v;
      }
      return ok(ticket);
    },
    async readPullRequest(repository, number) {
      const what = `pull request ${quote(`${repository}#${number}`)}`;
      const doc = await readJson(what, 'pulls', repository, `${number}.jsonc`);
      if (!doc.ok) return doc;
      const d = doc.value;
      if (!Array.isArray(d['files'])) return malformed(what, 'files');
      const files: PullRequest['files'] = [];
      for (const [i, f] of (d['files'] as unknown[]).entries()) {
        const path = isRecord(f) ? str(f['path']) : undefined;
        const status = isRecord(f) ? str(f['status']) : undefined;
        if (path === undefined || status === undefined || !FILE_STATUSES.includes(status as FileStatus)) return malformed(what, `files[${i}]`);
        if (status === 'removed') {
          files.push({ path, status });
          continue;
        }
        const content = await read(`${what} file ${quote(path)}`, 'pulls', repository, String(number), ...path.split('/'));
        if (!content.ok) return content;
        files.push({ path, status: status as FileStatus, content: content.value });
      }
      return ok({
        repository,
        number,
        title: str(d['title']) ?? '',
        body: str(d['body']) ?? '',
        ...(str(d['state']) ? { state: str(d['state']) as string } : {}),
        ...(str(d['author']) ? { author: str(d['author']) as string } : {}),
        files,
      });
    },
    async readStandards() {
      const what = 'the security standards page';
      const doc = await readJson(what, 'confluence', 'standards.jsonc');
      if (!doc.ok) return doc;
      const d = doc.value;
      const raw = d['standards'];
      if (!Array.isArray(raw) || !raw.every((s) => isRecord(s) && typeof s['id'] === 'string' && typeof s['text'] === 'string')) return malformed(what, 'standards');
      const page: StandardsPage = {
        pageId: str(d['page_id']) ?? '',
        title: str(d['title']) ?? '',
        standards: (raw as Record<string, string>[]).map((s) => ({ id: s['id'] as string, text: s['text'] as string })),
      };
      return ok(page);
    },
    async describeAccount(account) {
      const what = `AWS account ${quote(account)}`;
      const doc = await readJson(what, 'aws', `${account}.jsonc`);
      if (!doc.ok) return doc;
      const d = doc.value;
      const region = str(d['region']);
      if (region === undefined) return malformed(what, 'region');
      const ranges = Array.isArray(d['approved_admin_ranges']) ? (d['approved_admin_ranges'] as unknown[]).filter((r): r is string => typeof r === 'string') : undefined;
      const meta: AccountMetadata = { account: str(d['account']) ?? account, region, environment: str(d['environment']) ?? account, ...(ranges ? { approvedAdminRanges: ranges } : {}) };
      const id = str(d['account_id']);
      if (id !== undefined) meta.accountId = id;
      return ok(meta);
    },
    async addComment(ticket, body) {
      const id = String(10000 + outbox.comments.length + 1);
      outbox.comments.push({ id, ticket, body });
      return ok({ id });
    },
    async postMessage(channel, text) {
      const ts = `${Math.floor(Date.now() / 1000)}.${String(outbox.messages.length + 1).padStart(6, '0')}`;
      outbox.messages.push({ ts, channel, text });
      return ok({ ts });
    },
  };
}
