/**
 * The shapes every content scanner speaks: a finding (what was found, where, how sure) and
 * the options that switch scanners on and off.
 */

export type ScanKind = 'secret' | 'pii' | 'injection' | 'url';

/** One thing a scanner found. Offsets are UTF-16 indexes into the original text. */
export interface ScanFinding {
  type: ScanKind;
  /** The specific detector, e.g. `aws-access-key`, `email`, `instruction-override`. */
  rule: string;
  start: number;
  end: number;
  /** Injection findings: the score of the whole text. */
  score?: number;
  /** How sure the detector is, 0..1 (a verified checksum is near 1, an entropy guess lower). */
  confidence: number;
  /** What was matched, masked for secrets and personal data: never the value in clear. */
  evidence?: string;
}

export interface PiiOptions {
  email?: boolean;
  phone?: boolean;
  card?: boolean;
  iban?: boolean;
  nationalId?: boolean;
}

export interface ScanOptions {
  /** Which scanners run; all of them when left out. */
  kinds?: ScanKind[];
  /** Personal-data detectors; each is on unless set to false. */
  pii?: PiiOptions;
}

export function kindEnabled(options: ScanOptions | undefined, kind: ScanKind): boolean {
  return options?.kinds === undefined || options.kinds.includes(kind);
}
