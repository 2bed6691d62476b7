/**
 * The credential formats Bastion recognizes, from the providers' documented token formats.
 * Each rule names the keywords that must occur for it to run (the prefilter), a pattern
 * that matches starting at the keyword (or `back` characters before it), and optional
 * gates: a minimum entropy for loose formats and a check for formats with a checksum or an
 * inner structure. When a pattern has capturing groups, the first group that took part is
 * the secret (so `password=…` reports the value, not the key name).
 *
 * INVARIANT: every pattern is linear-time: no nested quantifiers, bounded repetition.
 */

import { charClasses, shannonEntropy } from './entropy.js';
import { validBase62Crc32Token } from './checksums.js';
import { isReference } from './allowlist.js';

export interface SecretRule {
  id: string;
  /** Lowercase ASCII anchors; the pattern is tried where one of them starts. */
  keywords: string[];
  /** Source of a pattern matching from the keyword (compiled sticky, with indices). */
  pattern: string;
  flags?: string;
  /** The match starts this many characters before the keyword. */
  back?: number;
  confidence: number;
  minEntropy?: number;
  /** Extra gate on the secret value (checksum, structure, decoding). */
  check?: (secret: string, match: RegExpExecArray) => boolean;
  /** Generic rules (key=value with entropy) yield to specific ones on overlap. */
  generic?: boolean;
  /** Key material (PEM bodies repeat `AAAA…`): the placeholder allowlist does not apply. */
  keyMaterial?: boolean;
  /**
   * For a pattern whose first branch can only match with `literal` at most `within` characters
   * after the match start: `pattern` is the same pattern without that branch. Where the
   * literal does not occur that close, it gives the same match without the first branch's
   * search (a lazy `[\s\S]{0,12000}?` steps through 12,000 characters to fail).
   */
  unless?: { literal: string; within: number; pattern: string };
}

const PEM_HEADER = '-----BEGIN (?:[A-Z0-9]{1,10} ){0,2}PRIVATE KEY(?: BLOCK)?-----';
// INVARIANT: a body never runs past the next `-----` (a BEGIN or END line), so a text of many
// headers costs the distance to the next header each, linear overall, not 12,000 each.
const PEM_BODY = '(?:[A-Za-z0-9+/=:, \\t\\r\\n]|-(?!----)){0,12000}';

/** Left boundary: the token is not the tail of a longer word. */
const L = '(?<![A-Za-z0-9_-])';
/** Right boundary. */
const R = '(?![A-Za-z0-9_-])';

function base64Decode(value: string): string | undefined {
  try {
    return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('latin1');
  } catch {
    return undefined;
  }
}

function jwtShaped(token: string): boolean {
  const header = base64Decode(token.slice(0, token.indexOf('.')));
  return header !== undefined && /^\s*\{[\s\S]*"(?:alg|typ|kid)"\s*:/.test(header);
}

function basicAuthShaped(value: string): boolean {
  const decoded = base64Decode(value);
  if (decoded === undefined || !/^[\x20-\x7e]+$/.test(decoded)) return false;
  const colon = decoded.indexOf(':');
  return colon > 0 && colon < decoded.length - 1;
}

/** A lowercased access key id's 16 characters: a digit, at most 5 vowels, not a word. */
function lowercasedKeyId(tail: string): boolean {
  return /[2-7]/.test(tail) && (tail.match(/[aeiou]/g) ?? []).length <= 5 && shannonEntropy(tail) >= 3.2;
}

/** Gate for `key = value` assignments: a value that looks generated, not a word or reference. */
function generatedLooking(minEntropy: number) {
  // Cheapest gates first: most candidates that fail, fail on the first two.
  return (value: string): boolean => /[0-9]/.test(value) && /[A-Za-z]/.test(value) && !isReference(value) && charClasses(value) >= 2 && shannonEntropy(value) >= minEntropy;
}

function passwordLooking(value: string): boolean {
  if (value.length < 6) return false;
  // A single word, capitalized word or camelCase identifier is a name, not a password.
  if (/^[A-Za-z][a-z]*$/.test(value) || /^[a-z]+(?:[A-Z][a-z]+)+$/.test(value)) return false;
  return charClasses(value) >= 2 && shannonEntropy(value) >= 2.5 && !isReference(value);
}

/**
 * `key = value`, `key: value`, `"key": "value"`, `key := value`, `key => value`. An unquoted
 * value stops at the next `=` (base64 padding aside): that is the next assignment, not part of
 * the value, and without the stop every `api_key=` of `api_key=api_key=…` would read (and
 * gate) the 256 characters after it.
 */
const ASSIGN = `[A-Za-z0-9_.-]{0,30}["']?[ \\t]{0,4}(?::=|=>|[:=])[ \\t]{0,4}`;
function assignedValue(min: number, max: number): string {
  return `(?:"([^"\\s]{${min},${max}})"|'([^'\\s]{${min},${max}})'|([^\\s"'\`,;&<>()\\[\\]{}=]{${min},${max}}={0,2}))`;
}

export const SECRET_RULES: readonly SecretRule[] = [
  // Cloud providers
  // Key ids are upper case, so a lowercased id loses nothing: it is reported too, when its
  // 16 characters look random (a digit, few vowels), not like a word (`asiasoutheastregion`).
  {
    id: 'aws-access-key',
    keywords: ['akia', 'asia', 'abia', 'acca'],
    pattern: `(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])|(?<![A-Za-z0-9])(?:akia|asia|abia|acca)[a-z2-7]{16}(?![A-Za-z0-9])`,
    confidence: 0.95,
    check: (v) => !/^[a-z]/.test(v) || lowercasedKeyId(v.slice(4)),
  },
  {
    id: 'aws-secret-key',
    keywords: ['aws_secret', 'aws-secret', 'awssecret', 'secretaccesskey', 'secret_access_key'],
    pattern: `(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret_?access_?key)["']?[ \\t]{0,4}[:=][ \\t]{0,4}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
    flags: 'i',
    confidence: 0.9,
    minEntropy: 4.0,
  },
  {
    id: 'aws-session-token',
    keywords: ['aws_session_token', 'sessiontoken'],
    pattern: `(?:aws_session_token|sessiontoken)["']?[ \\t]{0,4}[:=][ \\t]{0,4}["']?([A-Za-z0-9/+=]{100,1200})`,
    flags: 'i',
    confidence: 0.9,
    minEntropy: 4.5,
  },
  { id: 'google-api-key', keywords: ['aiza'], pattern: `${L}AIza[0-9A-Za-z_-]{35}${R}`, confidence: 0.9 },
  { id: 'google-oauth-client-secret', keywords: ['gocspx-'], pattern: `GOCSPX-[A-Za-z0-9_-]{28}${R}`, confidence: 0.95 },
  { id: 'gcp-oauth-refresh-token', keywords: ['1//0'], pattern: `${L}1//0[A-Za-z0-9_-]{60,250}${R}`, confidence: 0.8, minEntropy: 4.5 },
  { id: 'azure-storage-account-key', keywords: ['accountkey='], pattern: `AccountKey=([A-Za-z0-9+/]{86}==)`, flags: 'i', confidence: 0.95 },
  { id: 'azure-ad-client-secret', keywords: ['q~'], back: 4, pattern: `(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`, confidence: 0.85, minEntropy: 4.0 },
  {
    id: 'azure-sas-token',
    keywords: ['sig='],
    pattern: `sig=([A-Za-z0-9%+/]{40,120}(?:%3D|=)?)`,
    flags: 'i',
    confidence: 0.8,
    check: (_v, m) => /[?&](?:sv|se|sp)=/.test(m.input.slice(Math.max(0, m.index - 400), m.index)),
  },
  { id: 'alibaba-access-key', keywords: ['ltai'], pattern: `${L}LTAI[A-Za-z0-9]{12,20}${R}`, confidence: 0.85, minEntropy: 3.5 },
  { id: 'digitalocean-token', keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'], pattern: `do[opr]_v1_[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'heroku-api-key', keywords: ['hrku-'], pattern: `HRKU-[A-Za-z0-9_-]{40,80}${R}`, confidence: 0.85, minEntropy: 3.5 },
  { id: 'databricks-token', keywords: ['dapi'], pattern: `${L}dapi[a-f0-9]{32}(?:-[0-9])?${R}`, confidence: 0.9 },
  { id: 'hashicorp-vault-token', keywords: ['hvs.', 'hvb.'], pattern: `${L}hv[sb]\\.[A-Za-z0-9_-]{90,400}${R}`, confidence: 0.95 },
  { id: 'terraform-cloud-token', keywords: ['.atlasv1.'], back: 14, pattern: `${L}[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_-]{60,70}${R}`, confidence: 0.95 },
  { id: 'pulumi-access-token', keywords: ['pul-'], pattern: `${L}pul-[a-f0-9]{40}${R}`, confidence: 0.9 },
  { id: 'doppler-token', keywords: ['dp.st.', 'dp.pt.', 'dp.sa.', 'dp.ct.'], pattern: `${L}dp\\.(?:st|pt|sa|ct)\\.[A-Za-z0-9_.-]{40,60}${R}`, confidence: 0.9 },
  { id: 'supabase-access-token', keywords: ['sbp_'], pattern: `${L}sbp_[a-f0-9]{40}${R}`, confidence: 0.9 },
  { id: 'planetscale-token', keywords: ['pscale_tkn_', 'pscale_pw_', 'pscale_oauth_'], pattern: `pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}${R}`, confidence: 0.9 },
  { id: 'fly-io-token', keywords: ['fo1_'], pattern: `${L}fo1_[A-Za-z0-9_-]{43}${R}`, confidence: 0.85 },
  // Version control and CI
  { id: 'github-pat', keywords: ['ghp_'], pattern: `${L}ghp_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: (v) => validBase62Crc32Token(v, 4) },
  { id: 'github-oauth-token', keywords: ['gho_'], pattern: `${L}gho_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: (v) => validBase62Crc32Token(v, 4) },
  { id: 'github-user-to-server-token', keywords: ['ghu_'], pattern: `${L}ghu_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: (v) => validBase62Crc32Token(v, 4) },
  { id: 'github-server-to-server-token', keywords: ['ghs_'], pattern: `${L}ghs_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: (v) => validBase62Crc32Token(v, 4) },
  { id: 'github-refresh-token', keywords: ['ghr_'], pattern: `${L}ghr_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: (v) => validBase62Crc32Token(v, 4) },
  { id: 'github-fine-grained-pat', keywords: ['github_pat_'], pattern: `github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}${R}`, confidence: 0.97 },
  { id: 'gitlab-pat', keywords: ['glpat-'], pattern: `glpat-[A-Za-z0-9_-]{20,60}(?:\\.[A-Za-z0-9]{2}\\.[A-Za-z0-9]{9})?${R}`, confidence: 0.95 },
  { id: 'gitlab-pipeline-trigger-token', keywords: ['glptt-'], pattern: `glptt-[a-f0-9]{40}${R}`, confidence: 0.95 },
  { id: 'gitlab-runner-token', keywords: ['glrt-'], pattern: `glrt-[A-Za-z0-9_-]{20,60}${R}`, confidence: 0.9 },
  { id: 'gitlab-deploy-token', keywords: ['gldt-'], pattern: `gldt-[A-Za-z0-9_-]{20,60}${R}`, confidence: 0.9 },
  { id: 'atlassian-api-token', keywords: ['atatt'], pattern: `${L}ATATT[A-Za-z0-9_=-]{100,300}${R}`, confidence: 0.95 },
  { id: 'bitbucket-app-password', keywords: ['atbb'], pattern: `${L}ATBB[A-Za-z0-9]{28,40}${R}`, confidence: 0.9, minEntropy: 3.5 },
  { id: 'buildkite-token', keywords: ['bkua_'], pattern: `${L}bkua_[a-f0-9]{40}${R}`, confidence: 0.9 },
  { id: 'docker-hub-pat', keywords: ['dckr_pat_'], pattern: `dckr_pat_[A-Za-z0-9_-]{27}${R}`, confidence: 0.95 },
  // Package registries
  { id: 'npm-access-token', keywords: ['npm_'], pattern: `${L}npm_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: (v) => validBase62Crc32Token(v, 4) },
  { id: 'pypi-upload-token', keywords: ['pypi-ageichlwas5vcmc'], pattern: `pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,300}${R}`, confidence: 0.98 },
  { id: 'rubygems-api-key', keywords: ['rubygems_'], pattern: `${L}rubygems_[a-f0-9]{48}${R}`, confidence: 0.95 },
  { id: 'nuget-api-key', keywords: ['oy2'], pattern: `${L}oy2[a-z0-9]{43}${R}`, confidence: 0.85, minEntropy: 3.8 },
  // Chat, webhooks, e-mail
  { id: 'slack-bot-token', keywords: ['xoxb-'], pattern: `xoxb-[0-9]{8,13}-[0-9]{8,13}-[A-Za-z0-9]{24}${R}`, confidence: 0.97 },
  { id: 'slack-user-token', keywords: ['xoxp-'], pattern: `xoxp-[0-9]{8,13}-[0-9]{8,13}-[0-9]{8,13}-[a-f0-9]{32}${R}`, confidence: 0.97 },
  { id: 'slack-legacy-token', keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-'], pattern: `xox[aors]-[0-9]{1,13}-[A-Za-z0-9-]{10,80}${R}`, confidence: 0.9, minEntropy: 3.3 },
  { id: 'slack-app-token', keywords: ['xapp-'], pattern: `xapp-[0-9]-[A-Z0-9]{9,11}-[0-9]{10,13}-[a-f0-9]{64}${R}`, confidence: 0.97 },
  { id: 'slack-webhook-url', keywords: ['hooks.slack.com/'], pattern: `hooks\\.slack\\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,11}/[A-Z0-9]{8,12}/[A-Za-z0-9]{20,32}`, confidence: 0.95 },
  {
    id: 'discord-webhook-url',
    keywords: ['discord.com/api/webhooks/', 'discordapp.com/api/webhooks/'],
    pattern: `discord(?:app)?\\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,70}`,
    confidence: 0.95,
  },
  {
    id: 'teams-webhook-url',
    keywords: ['.webhook.office.com/webhookb2/'],
    pattern: `\\.webhook\\.office\\.com/webhookb2/[a-f0-9-]{36}@[a-f0-9-]{36}/IncomingWebhook/[a-f0-9]{32}/[a-f0-9-]{36}`,
    confidence: 0.95,
  },
  { id: 'telegram-bot-token', keywords: [':aa'], pattern: `(?<=(?<![0-9])[0-9]{8,10}):(AA[A-Za-z0-9_-]{33})${R}`, confidence: 0.9 },
  { id: 'sendgrid-api-key', keywords: ['sg.'], pattern: `${L}SG\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}${R}`, confidence: 0.97 },
  { id: 'mailgun-api-key', keywords: ['key-'], pattern: `${L}key-[a-f0-9]{32}${R}`, confidence: 0.8, minEntropy: 3.4 },
  { id: 'mailchimp-api-key', keywords: ['-us'], back: 32, pattern: `${L}[a-f0-9]{32}-us[0-9]{1,2}${R}`, confidence: 0.85, minEntropy: 3.2 },
  { id: 'twilio-api-key', keywords: ['sk'], pattern: `(?<![A-Za-z0-9])SK[a-f0-9]{32}(?![A-Za-z0-9])`, confidence: 0.8, minEntropy: 3.2 },
  { id: 'firebase-cloud-messaging-key', keywords: [':apa91b'], back: 11, pattern: `${L}AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{130,140}${R}`, confidence: 0.95 },
  // Payments
  { id: 'stripe-secret-key', keywords: ['sk_live_'], pattern: `sk_live_[A-Za-z0-9]{24,99}${R}`, confidence: 0.98 },
  { id: 'stripe-restricted-key', keywords: ['rk_live_'], pattern: `rk_live_[A-Za-z0-9]{24,99}${R}`, confidence: 0.98 },
  { id: 'stripe-test-secret-key', keywords: ['sk_test_', 'rk_test_'], pattern: `[sr]k_test_[A-Za-z0-9]{24,99}${R}`, confidence: 0.8 },
  { id: 'stripe-webhook-secret', keywords: ['whsec_'], pattern: `whsec_[A-Za-z0-9+/=]{32,64}${R}`, confidence: 0.95 },
  { id: 'square-access-token', keywords: ['sq0atp-', 'eaaa'], pattern: `${L}(?:sq0atp-[A-Za-z0-9_-]{22}|EAAA[A-Za-z0-9_-]{60})${R}`, confidence: 0.9, minEntropy: 3.5 },
  { id: 'square-oauth-secret', keywords: ['sq0csp-'], pattern: `sq0csp-[A-Za-z0-9_-]{43}${R}`, confidence: 0.95 },
  { id: 'braintree-access-token', keywords: ['access_token$production$'], pattern: `access_token\\$production\\$[a-z0-9]{16}\\$[a-f0-9]{32}`, confidence: 0.97 },
  { id: 'shopify-access-token', keywords: ['shpat_', 'shpca_', 'shppa_'], pattern: `shp(?:at|ca|pa)_[a-fA-F0-9]{32}${R}`, confidence: 0.97 },
  { id: 'shopify-shared-secret', keywords: ['shpss_'], pattern: `shpss_[a-fA-F0-9]{32}${R}`, confidence: 0.97 },
  { id: 'shippo-api-token', keywords: ['shippo_live_', 'shippo_test_'], pattern: `shippo_(?:live|test)_[a-f0-9]{40}${R}`, confidence: 0.95 },
  // AI providers
  { id: 'anthropic-api-key', keywords: ['sk-ant-'], pattern: `sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_-]{80,120}${R}`, confidence: 0.98 },
  { id: 'openrouter-api-key', keywords: ['sk-or-v1-'], pattern: `sk-or-v1-[a-f0-9]{64}${R}`, confidence: 0.97 },
  { id: 'openai-api-key', keywords: ['sk-'], pattern: `${L}sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{40,250}${R}`, confidence: 0.97, check: (v) => v.includes('T3BlbkFJ') },
  // The `sk-` shape without OpenAI's marker (other providers, older formats, the seeds'
  // `sk-[a-zA-Z0-9]{48}`): a random-looking run after `sk-` is a key.
  {
    id: 'sk-prefixed-key',
    keywords: ['sk-'],
    pattern: `${L}sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9]{32,250}${R}`,
    confidence: 0.75,
    check: (v) => generatedLooking(4.0)(v.slice(v.lastIndexOf('-') + 1)),
    generic: true,
  },
  { id: 'groq-api-key', keywords: ['gsk_'], pattern: `${L}gsk_[A-Za-z0-9]{52}${R}`, confidence: 0.95 },
  { id: 'huggingface-token', keywords: ['hf_'], pattern: `${L}hf_[A-Za-z]{34}${R}`, confidence: 0.9, minEntropy: 3.8 },
  { id: 'replicate-api-token', keywords: ['r8_'], pattern: `${L}r8_[A-Za-z0-9]{37}${R}`, confidence: 0.9, minEntropy: 3.8 },
  { id: 'perplexity-api-key', keywords: ['pplx-'], pattern: `${L}pplx-[A-Za-z0-9]{48}${R}`, confidence: 0.95 },
  { id: 'xai-api-key', keywords: ['xai-'], pattern: `${L}xai-[A-Za-z0-9]{70,90}${R}`, confidence: 0.9, minEntropy: 4.0 },
  // SaaS
  { id: 'linear-api-key', keywords: ['lin_api_'], pattern: `lin_api_[A-Za-z0-9]{40}${R}`, confidence: 0.95 },
  { id: 'notion-token', keywords: ['ntn_', 'secret_'], pattern: `${L}(?:ntn_[A-Za-z0-9]{46}|secret_[A-Za-z0-9]{43})${R}`, confidence: 0.85, minEntropy: 4.0 },
  { id: 'postman-api-key', keywords: ['pmak-'], pattern: `PMAK-[a-f0-9]{24}-[a-f0-9]{34}${R}`, confidence: 0.97 },
  { id: 'new-relic-user-key', keywords: ['nrak-'], pattern: `NRAK-[A-Z0-9]{27}${R}`, confidence: 0.95 },
  { id: 'sentry-auth-token', keywords: ['sntrys_', 'sntryu_'], pattern: `(?:sntrys_[A-Za-z0-9+/=_]{60,250}|sntryu_[a-f0-9]{64})${R}`, confidence: 0.95 },
  { id: 'grafana-token', keywords: ['glsa_', 'glc_'], pattern: `${L}(?:glsa_[A-Za-z0-9]{32}_[a-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2})${R}`, confidence: 0.95 },
  { id: 'contentful-token', keywords: ['cfpat-'], pattern: `CFPAT-[A-Za-z0-9_-]{43}${R}`, confidence: 0.95 },
  { id: 'mapbox-secret-token', keywords: ['sk.eyj'], pattern: `${L}sk\\.eyJ[A-Za-z0-9_-]{20,200}\\.[A-Za-z0-9_-]{20,40}${R}`, confidence: 0.95 },
  { id: 'airtable-pat', keywords: ['pat'], pattern: `(?<![A-Za-z0-9])pat[A-Za-z0-9]{14}\\.[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'age-secret-key', keywords: ['age-secret-key-1'], pattern: `AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`, confidence: 0.99 },
  // Key material and structured tokens
  {
    id: 'private-key',
    keyMaterial: true,
    keywords: ['-----begin'],
    pattern: `${PEM_HEADER}(?:(?:(?!-----BEGIN )[\\s\\S]){0,12000}?-----END [A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----|${PEM_BODY})`,
    // The header is at most 55 characters, so the END line starts within 55 + 12,000.
    unless: { literal: '-----END ', within: 12055, pattern: `${PEM_HEADER}${PEM_BODY}` },
    confidence: 0.99,
    check: (v) => /[A-Za-z0-9+/]{40}/.test(v),
  },
  { id: 'putty-private-key', keyMaterial: true, keywords: ['putty-user-key-file-'], pattern: `PuTTY-User-Key-File-[0-9]: [\\s\\S]{0,6000}?Private-MAC: [a-f0-9]{40,64}`, confidence: 0.99 },
  {
    id: 'encoded-private-key',
    keyMaterial: true,
    keywords: ['ls0tls1crudjt'],
    pattern: `LS0tLS1CRUdJTi[A-Za-z0-9+/]{100,12000}={0,2}`,
    confidence: 0.95,
    check: (v) => (base64Decode(v) ?? '').includes('PRIVATE KEY'),
  },
  { id: 'jwt', keywords: ['eyj'], pattern: `${L}eyJ[A-Za-z0-9_-]{8,2000}\\.eyJ[A-Za-z0-9_-]{8,4000}\\.[A-Za-z0-9_-]{0,1000}${R}`, confidence: 0.85, check: jwtShaped },
  // Credentials inside URLs and headers
  {
    id: 'database-url-password',
    keywords: [
      'postgres://',
      'postgresql://',
      'mysql://',
      'mariadb://',
      'mongodb://',
      'mongodb+srv://',
      'redis://',
      'rediss://',
      'amqp://',
      'amqps://',
      'mssql://',
      'sqlserver://',
      'clickhouse://',
      'cockroachdb://',
    ],
    pattern: `[a-z+]{4,14}://[^\\s:@/?#'"]{0,64}:([^\\s@/?#'"]{3,128})@`,
    flags: 'i',
    confidence: 0.95,
    check: (v) => !isReference(v),
  },
  { id: 'url-password', keywords: ['://'], pattern: `://[^\\s:@/?#'"]{1,64}:([^\\s@/?#'"]{3,128})@(?=[A-Za-z0-9.[\\-])`, confidence: 0.8, check: (v) => !isReference(v) },
  { id: 'basic-auth-header', keywords: ['basic'], pattern: `basic[ \\t]{1,4}([A-Za-z0-9+/]{8,400}={0,2})(?![A-Za-z0-9+/=])`, flags: 'i', confidence: 0.85, check: basicAuthShaped },
  {
    id: 'bearer-token',
    keywords: ['bearer'],
    pattern: `bearer[ \\t]{1,4}([A-Za-z0-9._~+/-]{20,2000}={0,2})(?![A-Za-z0-9._~+/=-])`,
    flags: 'i',
    confidence: 0.8,
    check: generatedLooking(3.5),
    generic: true,
  },
  // Generic assignments, gated by entropy and shape
  {
    id: 'generic-password',
    keywords: ['password', 'passwd', 'passphrase', 'pwd'],
    pattern: `(?:password|passwd|passphrase|pwd)${ASSIGN}${assignedValue(6, 128)}`,
    flags: 'i',
    confidence: 0.7,
    check: passwordLooking,
    generic: true,
  },
  {
    id: 'generic-api-key',
    keywords: ['api_key', 'apikey', 'api-key', 'api_secret', 'secret', 'token', 'access_key', 'accesskey', 'auth', 'credential', 'private_key'],
    pattern: `(?<![:/])(?:api[_-]?key|api[_-]?secret|secret(?!s?[-_]?(?:manager|arn|name|id|ref|path|version)\\b)|token|access[_-]?key|auth|credential|private[_-]?key)${ASSIGN}${assignedValue(16, 256)}`,
    flags: 'i',
    confidence: 0.7,
    check: generatedLooking(3.3),
    generic: true,
  },
];
