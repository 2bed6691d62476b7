/**
 * The approval store in process memory: approvals are lost when the process ends, so it
 * suits tests and a gateway without a data directory. Records are copied in and out, so no
 * caller can change a stored record by holding a reference to it. Each operation runs in
 * one turn of the event loop, which makes it atomic here.
 */

import type { ApprovalBackend, ApprovalRecord, ApprovalStore } from '../../approvals/index.js';
import { afterCursor, approvalStoreOver, effectiveStatus, expireApproval } from '../../approvals/index.js';

/**
 * @example
 * const approvals = createMemoryApprovalStore();
 * const created = await approvals.create({ ...newApproval, createdAt: Date.now(), expiresAt: Date.now() + 900_000 });
 */
export function createMemoryApprovalStore(): ApprovalStore {
  const records = new Map<string, ApprovalRecord>();
  const backend: ApprovalBackend = {
    async insert(record) {
      if (records.has(record.id)) return false;
      records.set(record.id, structuredClone(record));
      return true;
    },
    async read(id) {
      const record = records.get(id);
      return record === undefined ? undefined : structuredClone(record);
    },
    async update(id, change) {
      const stored = records.get(id);
      const result = change(stored === undefined ? undefined : structuredClone(stored));
      if (result.ok) records.set(id, structuredClone(result.value));
      return result;
    },
    async page(query, now) {
      const out: ApprovalRecord[] = [];
      const sorted = [...records.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const record of sorted) {
        if (!afterCursor(record, query.after)) continue;
        if (query.requester !== undefined && record.requester.id !== query.requester) continue;
        if (query.status !== undefined && effectiveStatus(record, now) !== query.status) continue;
        out.push(structuredClone(record));
        if (out.length > query.limit) break;
      }
      return out;
    },
    async expire(now) {
      const expired: ApprovalRecord[] = [];
      for (const [id, record] of records) {
        const next = expireApproval(record, now);
        if (next !== undefined) {
          records.set(id, next);
          expired.push(structuredClone(next));
        }
      }
      return expired;
    },
    close: async () => records.clear(),
  };
  return approvalStoreOver(backend, 'approval store');
}
