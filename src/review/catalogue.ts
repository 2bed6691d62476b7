/**
 * What each kind of finding says, how severe it is, which standard it breaks and what fixes
 * it. The wording of the seed's five findings is the seed's, verbatim (its clients compare
 * the strings); the order here is the order of the answer's lists.
 */

import type { FindingKind, Severity } from './types.js';

export interface FindingSpec {
  message: string;
  severity: Severity;
  remediation: string;
  /** The id of the standard on the Confluence page that the finding breaks. */
  standardId: string;
  /** How the Slack summary names the item when it is medium or worse; none: not listed. */
  label?: string;
}

export const FINDING_SPECS: Readonly<Record<FindingKind, FindingSpec>> = {
  s3_public_access_block: {
    message: 'S3 bucket does not explicitly enforce public access block.',
    severity: 'high',
    remediation: 'Add S3 public access block.',
    standardId: 'CSS-S3-01',
    label: 'public exposure risk',
  },
  iam_wildcard_action: {
    message: 'IAM policy includes wildcard actions. Least privilege review required.',
    severity: 'high',
    remediation: 'Replace wildcard IAM actions with explicit actions.',
    standardId: 'CSS-IAM-01',
    label: 'IAM wildcard policy',
  },
  iam_wildcard_resource: {
    message: 'IAM policy grants access to all resources ("*"). Least privilege review required.',
    severity: 'medium',
    remediation: 'Scope IAM policy resources to explicit ARNs.',
    standardId: 'CSS-IAM-02',
    label: 'IAM wildcard policy',
  },
  iam_policy_unresolved: {
    message: 'IAM policy document could not be analyzed statically. Manual least privilege review required.',
    severity: 'medium',
    remediation: 'Write IAM policies as literal jsonencode() documents or aws_iam_policy_document data sources in the change.',
    standardId: 'CSS-IAM-01',
    label: 'IAM policy needs manual review',
  },
  sg_open_admin_port: {
    message: 'Security group allows inbound access from 0.0.0.0/0 on an administrative port.',
    severity: 'high',
    remediation: 'Restrict security group source to approved network ranges.',
    standardId: 'CSS-NET-01',
    label: 'public exposure risk',
  },
  log_retention_missing: {
    message: 'CloudWatch log retention is not defined.',
    severity: 'low',
    remediation: 'Define CloudWatch log retention.',
    standardId: 'CSS-LOG-01',
  },
  storage_unencrypted: {
    message: 'Storage is not encrypted at rest.',
    severity: 'high',
    remediation: 'Enable encryption at rest for the storage resources.',
    standardId: 'CSS-ENC-01',
    label: 'unencrypted storage',
  },
  hardcoded_secret: {
    message: 'Terraform contains a hard-coded secret.',
    severity: 'critical',
    remediation: 'Move the secret to AWS Secrets Manager and rotate the exposed credential.',
    standardId: 'CSS-ENC-01',
    label: 'hard-coded secret',
  },
  terraform_unparsed: {
    message: 'Terraform file could not be parsed. Manual review required.',
    severity: 'high',
    remediation: 'Fix the Terraform syntax so the change can be reviewed.',
    standardId: 'CSS-CHG-01',
    label: 'unreviewable Terraform',
  },
  rollback_plan_missing: {
    message: 'Rollback plan is missing from the Jira change ticket.',
    severity: 'medium',
    remediation: 'Add rollback plan to the Jira change.',
    standardId: 'CSS-CHG-01',
    label: 'missing rollback plan',
  },
};

export const FINDING_ORDER: readonly FindingKind[] = Object.keys(FINDING_SPECS) as FindingKind[];
