/**
 * The approvals stage: a human decision bound to one exact call. Its port (`ApprovalStore`),
 * the records and their pure rules (quorum, expiry, single-use consumption), and the binding
 * hash of a call. The service of issue 10 (routes, notifications, audit) builds on these.
 */

export type { ApprovalBinding } from './binding.js';
export { approvalBinding, approvalBindingHash } from './binding.js';
export type {
  ApprovalChange,
  ApprovalFailure,
  ApprovalFailureReason,
  ApprovalFilter,
  ApprovalPage,
  ApprovalRecord,
  ApprovalResult,
  ApprovalStatus,
  ApproverDecision,
  ListQuery,
  NewApproval,
} from './record.js';
export {
  APPROVAL_STATUSES,
  DEFAULT_PAGE,
  FINAL_APPROVAL_STATUSES,
  MAX_PAGE,
  afterCursor,
  applyApprovalChange,
  approvalCursor,
  approvalFailure,
  approvalsCounted,
  createApprovalRecord,
  effectiveApproval,
  effectiveStatus,
  expireApproval,
  parseApprovalRecord,
} from './record.js';
export type { ApprovalBackend, ApprovalListener, ApprovalStore } from './store.js';
export { approvalStoreOver } from './store.js';
export type { ApprovalCheck, ApprovalEvent, ApprovalService, ApprovalServiceOptions, ApprovalSettings, ApprovalTransition, ApprovalView, ApproverInput } from './service.js';
export { APPROVAL_NEEDS, DEFAULT_APPROVAL_SETTINGS, MAX_WAIT_SECONDS, approvalTerms, bindingDifferences, createApprovalService } from './service.js';
export type { Notifier, NotifierOptions, WebhookTarget } from './notifier.js';
export { createNotifier, genericPayload, slackPayload, webhookSignature } from './notifier.js';
export type { NotificationOutbox, OutboxEntry } from './outbox.js';
export { parseOutboxEntry } from './outbox.js';
