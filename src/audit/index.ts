/**
 * The tamper-evident audit trail: its whole public face. The pure core (canonical JSON,
 * hashes, Merkle proofs, checkpoint signatures, verification over rows) is separate from the
 * stores; the log takes a store through the async port in `store.ts`, whose adapters
 * (memory, SQLite, later PostgreSQL) live in `src/storage/` and import it from here.
 */

export { canonicalJson } from '../core/canonical-json.js';
export type { CanonicalJsonError } from '../core/canonical-json.js';
export { chainHash, leafHash, nodeHash, GENESIS_CHAIN_HASH, EMPTY_ROOT } from './hash.js';
export { CompactRange, SegmentRange, TreeHasher, merkleRoot, verifyConsistency, verifyInclusion } from './merkle.js';
export type { SegmentNodes } from './merkle.js';
export { CHECKPOINT_VERSION, checkCheckpointSignature, checkpointShapeProblem, logIdOf, parsePublicKey, signCheckpoint } from './checkpoint.js';
export type { Checkpoint, UnsignedCheckpoint } from './checkpoint.js';
export { verifyRows, verifySegment, GENESIS_ANCHOR } from './verify.js';
export type { Anchor, SegmentResult, SegmentRunner, SegmentTask, StoredCheckpoint, StoredRow, VerifyFailure, VerifyInput, VerifyReport } from './verify.js';
export { verifyOnThreads } from './verify-threads.js';
export type { SegmentRows, SegmentSource } from './verify-threads.js';
export { AUDIT_EVENT_TYPES, AUDIT_SCHEMA_VERSION, decisionEvent, validateEventInput } from './schema.js';
export type { AuditEvent, AuditEventInput, AuditEventType, AuditPrincipal } from './schema.js';
export { openAuditLog, openAuditReader, PARALLEL_VERIFY_FROM, verifyInclusionProof } from './log.js';
export type {
  AuditLog,
  AuditLogOptions,
  AuditReader,
  AuditReaderOptions,
  AuditReceipt,
  InclusionProof,
  OpenedReader,
  PruneReport,
  VerifyOptions,
} from './log.js';
export { AuditStateError, AuditStoreUnavailable, checkHead, parseChainState, parseStoredCheckpoint, storeChainState } from './store.js';
export type { AuditBatch, AuditFilter, AuditStore, AuditStoreView, ChainHead, StoredChainState } from './store.js';
export { ephemeralKey, keyDirectory, loadSigningKey, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from './keys.js';
export type { AuditKeyProvider, SigningKey } from './keys.js';
export { EXPORT_FORMATS, OCSF_VERSION, exportLine, toOcsf, toZyx } from './export.js';
export type { ExportFormat } from './export.js';
export { DEFAULT_BUSINESS_HOURS, SIGMA_LEVELS, createDetector, inBusinessHours, parseSigmaRules, toDetectionFinding } from './detect.js';
export type { BusinessHours, DetectionMatch, Detector, DetectorOptions, SigmaCorrelationRule, SigmaDetectionRule, SigmaLevel, SigmaRule, SigmaRuleInfo, SkippedRule } from './detect.js';
export { createSiemSink } from './siem.js';
export type { SiemFlushReport, SiemSink, SiemSinkOptions } from './siem.js';
