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
import { isAllowlistedSecret, isReference, leetWord, unpercent } from './allowlist.js';

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
  /**
   * A checksum a real token always passes. A value of the right shape that fails it is still
   * reported (a mistyped, truncated or test token is worth redacting), at `unverifiedConfidence`.
   */
  verify?: (secret: string) => boolean;
  unverifiedConfidence?: number;
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
// `\\` for a key inside JSON (`"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE…"`).
const PEM_BODY = '(?:[A-Za-z0-9+/=:, \\t\\r\\n\\\\]|-(?!----)){0,12000}';

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
  // `test:test`, `user:pass`: an example, not a credential.
  if (colon <= 0 || colon >= decoded.length - 1 || isAllowlistedSecret(decoded)) return false;
  const password = decoded.slice(colon + 1);
  // `user:password123`: an example password (a short one is judged by the allowlist alone).
  return !isAllowlistedSecret(password) && (password.length < 6 ? !leetWord(password) : passwordLooking(password));
}

/** A lowercased access key id's 16 characters: a digit, at most 5 vowels, not a word. */
function lowercasedKeyId(tail: string): boolean {
  return /[2-7]/.test(tail) && (tail.match(/[aeiou]/g) ?? []).length <= 5 && shannonEntropy(tail) >= 3.2;
}

/**
 * An identifier made of words (`defaultToConfig2`, `PasswordField`, `db_password_v2`): code
 * naming a value, not the value.
 */
function wordIdentifier(value: string): boolean {
  return (
    /^(?:[a-z]{2,}|[A-Z]{1,5}[a-z]{2,})(?:[A-Z]{1,5}[a-z]+|_[a-z]+|-[a-z]+)*[0-9]{0,2}$/.test(value) ||
    /^[A-Z]+(?:_[A-Z]+)+[0-9]{0,2}$/.test(value) ||
    // a PowerShell cmdlet (`Read-Host`, `Get-Credential`)
    /^[A-Z][a-z]+-[A-Z][A-Za-z]+$/.test(value) ||
    // snake_case with a digit inside a word (`swagger_ui_oauth2_redirect_url`)
    /^[a-z][a-z0-9]{0,15}(?:_[a-z][a-z0-9]{0,15}){2,}$/.test(value)
  );
}

/** Gate for `key = value` assignments: a value that looks generated, not a word or reference. */
function generatedLooking(minEntropy: number) {
  // Cheapest gates first: most candidates that fail, fail on the first two.
  return (value: string): boolean => /[0-9]/.test(value) && /[A-Za-z]/.test(value) && !isReference(value) && !wordIdentifier(value) && charClasses(value) >= 2 && shannonEntropy(value) >= minEntropy;
}

/** Base64 of printable text (a Kubernetes `Secret`'s `data:`): the text is what is judged. */
function decodedText(value: string): string | undefined {
  if (value.length < 8 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('latin1');
  return /^[\x21-\x7e]{4,}$/.test(decoded) ? decoded : undefined;
}

function passwordLooking(value: string): boolean {
  if (value.length < 6) return false;
  // A short word with digits after it (`mot123`, `abc1234`): an example of a password;
  // control characters (`pass[\x7f`): a parser's test input.
  if (/^[a-z]{1,5}[0-9]{1,4}$/.test(value) || /[\x00-\x1f\x7f]|\\u00(?:[01][0-9a-fA-F]|7[fF])/.test(value)) return false;
  // A single word, capitalized word or camelCase identifier is a name, not a password; a
  // leetspeak word with a digit (`password1`, `s00pers3cret`) is an example of one.
  if (/^[A-Za-z][a-z]*$/.test(value) || wordIdentifier(value) || leetWord(value)) return false;
  const decoded = decodedText(value);
  if (decoded !== undefined && decoded.length >= 6 && decoded !== value) return passwordLooking(decoded) || charClasses(decoded) >= 3;
  return charClasses(value) >= 2 && shannonEntropy(value) >= 2.5 && !isReference(value);
}

/**
 * Encrypted values are not secrets: an Ansible Vault payload, a SealedSecret's
 * `encryptedData`, a SOPS file's `ENC[…]`. The text shortly before the match says so.
 */
const ENCRYPTION_MARKERS = /\$ANSIBLE_VAULT|encryptedData:|kind:\s*SealedSecret|ENC\[AES256_GCM|!vault\b/;
function encryptedContext(value: string, m: RegExpExecArray): boolean {
  // Sealed and encrypted payloads are hundreds of characters; a shorter value needs no look
  // around (`!vault` itself and `ENC[…]` are rejected as references before this).
  if (value.length < 100) return false;
  return ENCRYPTION_MARKERS.test(m.input.slice(Math.max(0, m.index - 600), m.index + m[0].length + 40));
}

/** The key name of a match starts just after a quote (`"DB_PASSWORD"`, `'X-Api-Key'`). */
function quotedKeyBefore(m: RegExpExecArray): boolean {
  for (let i = m.index - 1, n = 0; i >= 0 && n <= 30; i--, n++) {
    const c = m.input.charCodeAt(i);
    if (c === 34 || c === 39) return true;
    if (!/[A-Za-z0-9_.-]/.test(m.input[i] as string)) return false;
  }
  return false;
}

/**
 * The key name of a match is the value of a `name` key (`- name: DB_PASSWORD`,
 * `{"name": "API_TOKEN"`): the name's characters, a quote, `:` and `name` just before it.
 */
function nameKeyBefore(m: RegExpExecArray): boolean {
  let i = m.index - 1;
  while (i >= 0 && m.index - i <= 40 && /[A-Za-z0-9_.-]/.test(m.input[i] as string)) i--;
  return /name["']?[ \t]{0,4}[:=][ \t]{0,4}["']?$/i.test(m.input.slice(Math.max(0, i - 14), i + 1));
}

/** `postgres:postgres@`, `guest:guest@`: a password that repeats the user name is a default. */
function sameAsUser(password: string, m: RegExpExecArray): boolean {
  const userinfo = m[0].slice(m[0].indexOf('://') + 3);
  return userinfo.startsWith(`${password}:`);
}

/**
 * The password of a URL's userinfo: not a reference, not the user name again, not a mask
 * (`[secure]`), and a password by the generic gate once its percent-escapes are decoded
 * (`user:password123@`, `jo:a%20secret@` are a parser's tests). A short one (`s3cr`) is
 * judged by the allowlist alone.
 */
function urlPassword(v: string, m: RegExpExecArray): boolean {
  if (isReference(v) || sameAsUser(v, m) || /^\[[A-Za-z _-]{1,20}\]$/.test(v)) return false;
  const unescaped = unpercent(v);
  // Words with a space (`a secret`, `pa ssword`) or an escaped control character (`pass%5B%7F`)
  // are a URL parser's test input, not a password.
  if (unescaped !== v && (/^[A-Za-z]+(?: [A-Za-z]+)+$/.test(unescaped) || /[\x00-\x1f\x7f]/.test(unescaped))) return false;
  const judged = unescaped;
  // Random letters (`WgrmGgXpQvieMvfrIyzc`) can read as camelCase: in a URL only a word with
  // digits, a lowercase word or a hyphenated/underscored name is taken for an example.
  return judged.length < 6 ? !leetWord(judged) : passwordLooking(judged) || (!leetWord(judged) && !/^[a-z]+$|[_-]/.test(judged) && charClasses(judged) >= 2 && shannonEntropy(judged) >= 3.5);
}

/** Base64 of a placeholder (`Y2hhbmdlbWU=`: `changeme`) in a Kubernetes `Secret` is a placeholder too. */
function placeholderInside(value: string): boolean {
  const decoded = decodedText(value);
  return decoded !== undefined && (isAllowlistedSecret(decoded) || leetWord(decoded) || isReference(decoded));
}

/**
 * A key whose name ends in an id (`AUTH0_CLIENT_ID`, `oauth.clientId`, `AUTH_USER_ID`) names
 * an identifier: an OAuth client id or a user id is not a secret.
 */
function namesAnId(m: RegExpExecArray): boolean {
  const name = /^[A-Za-z0-9_.-]*/.exec(m[0])?.[0] ?? '';
  return /(?:[_.-](?:id|ID|Id)|[a-z0-9]Id)$/.test(name);
}

/** A value followed by `(` is a call (`password = PasswordField(…)`), not a value. */
function calledAfter(m: RegExpExecArray): boolean {
  return m.input.charCodeAt(m.index + m[0].length) === 40;
}

/** A GitHub or npm token whose random body looks random (for one that fails its checksum). */
function randomBody(v: string): boolean {
  return shannonEntropy(v.slice(v.indexOf('_') + 1)) >= 4.2;
}

/**
 * `key = value`, `key: value`, `"key": "value"`, `key := value`, `key => value`. An unquoted
 * value stops at the next `=` (base64 padding aside): that is the next assignment, not part of
 * the value, and without the stop every `api_key=` of `api_key=api_key=…` would read (and
 * gate) the 256 characters after it. It holds an `&` followed by no letter (`CZsmrnd&4805DG`),
 * and stops at `&name` (the next query parameter). The key may be an index
 * (`headers["X-Auth-Token"] = …`).
 */
const ASSIGN = `[A-Za-z0-9_.-]{0,30}["']?\\]?[ \\t]{0,4}(?::=|=>|[:=])[ \\t]{0,4}`;
function assignedValue(min: number, max: number): string {
  return `(?:"([^"\\s]{${min},${max}})"|'([^'\\s]{${min},${max}})'|((?:[^\\s"'\`,;&<>()\\[\\]{}=]|&(?![A-Za-z_])){${min},${max}}={0,2}))`;
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
    id: 'aws-iam-id',
    keywords: ['a3t', 'agpa', 'aida', 'aroa', 'aipa', 'anpa', 'anva', 'asca'],
    pattern: `(?<![A-Z0-9])(?:A3T[A-Z0-9]|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASCA)[A-Z2-7]{16}(?![A-Z0-9])`,
    confidence: 0.85,
    check: (v) => /[2-7]/.test(v.slice(4)) && shannonEntropy(v.slice(4)) >= 3.2,
  },
  {
    id: 'aws-secret-key',
    keywords: ['aws_secret', 'aws-secret', 'awssecret', 'secretaccesskey', 'secret_access_key'],
    // `[:=]` or, as `aws configure set aws_secret_access_key …` writes it, a space.
    pattern: `(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret_?access_?key)["']?(?:[ \\t]{0,4}[:=][ \\t]{0,4}|[ \\t]{1,4})["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])`,
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
  {
    id: 'aws-sts-session-token',
    // STS session tokens begin with the base64 of their own header (`IQoJb3JpZ2luX2Vj`: `!\\n\\torigin_ec`).
    keywords: ['iqojb3jpz2lux2vj', 'fwogzxivyxdz'],
    pattern: `${L}(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdz)[A-Za-z0-9/+]{100,2000}={0,2}`,
    confidence: 0.95,
  },
  { id: 'google-api-key', keywords: ['aiza'], pattern: `${L}AIza[0-9A-Za-z_-]{35}${R}`, confidence: 0.9 },
  { id: 'google-oauth-access-token', keywords: ['ya29.'], pattern: `${L}ya29\\.[A-Za-z0-9_-]{30,2000}${R}`, confidence: 0.9, minEntropy: 4.0 },
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
  { id: 'alibaba-access-key', keywords: ['ltai'], pattern: `${L}LTAI[A-Za-z0-9]{12,21}${R}`, confidence: 0.85, minEntropy: 3.5 },
  { id: 'digitalocean-token', keywords: ['dop_v1_', 'doo_v1_', 'dor_v1_'], pattern: `do[opr]_v1_[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'heroku-api-key', keywords: ['hrku-'], pattern: `HRKU-[A-Za-z0-9_-]{40,80}${R}`, confidence: 0.85, minEntropy: 3.5 },
  { id: 'databricks-token', keywords: ['dapi'], pattern: `${L}dapi[a-f0-9]{32}(?:-[0-9])?${R}`, confidence: 0.9 },
  { id: 'hashicorp-vault-token', keywords: ['hvs.', 'hvb.'], pattern: `${L}hv[sb]\\.[A-Za-z0-9_-]{90,400}${R}`, confidence: 0.95 },
  {
    id: 'hashicorp-vault-legacy-token',
    keywords: ['s.'],
    pattern: `(?<![A-Za-z0-9_.$-])s\\.[A-Za-z0-9]{24}(?![A-Za-z0-9_.(-])`,
    confidence: 0.75,
    check: (v) => /[0-9]/.test(v) && /[A-Z]/.test(v) && /[a-z].*[a-z]/.test(v.slice(2)) && shannonEntropy(v.slice(2)) >= 4.0,
  },
  { id: 'terraform-cloud-token', keywords: ['.atlasv1.'], back: 14, pattern: `${L}[A-Za-z0-9]{14}\\.atlasv1\\.[A-Za-z0-9_-]{60,70}${R}`, confidence: 0.95 },
  { id: 'pulumi-access-token', keywords: ['pul-'], pattern: `${L}pul-[a-f0-9]{40}${R}`, confidence: 0.9 },
  { id: 'doppler-token', keywords: ['dp.st.', 'dp.pt.', 'dp.sa.', 'dp.ct.'], pattern: `${L}dp\\.(?:st|pt|sa|ct)\\.[A-Za-z0-9_.-]{40,60}${R}`, confidence: 0.9 },
  { id: 'supabase-access-token', keywords: ['sbp_'], pattern: `${L}sbp_[a-f0-9]{40}${R}`, confidence: 0.9 },
  { id: 'planetscale-token', keywords: ['pscale_tkn_', 'pscale_pw_', 'pscale_oauth_'], pattern: `pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}${R}`, confidence: 0.9 },
  { id: 'fly-io-token', keywords: ['fo1_'], pattern: `${L}fo1_[A-Za-z0-9_-]{43}${R}`, confidence: 0.85 },
  // Version control and CI
  { id: 'github-pat', keywords: ['ghp_'], pattern: `${L}ghp_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: randomBody, verify: (v) => validBase62Crc32Token(v, 4), unverifiedConfidence: 0.8 },
  { id: 'github-oauth-token', keywords: ['gho_'], pattern: `${L}gho_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: randomBody, verify: (v) => validBase62Crc32Token(v, 4), unverifiedConfidence: 0.8 },
  {
    id: 'github-user-to-server-token',
    keywords: ['ghu_'],
    pattern: `${L}ghu_[A-Za-z0-9]{36}${R}`,
    confidence: 0.99,
    check: randomBody,
    verify: (v) => validBase62Crc32Token(v, 4),
    unverifiedConfidence: 0.8,
  },
  {
    id: 'github-server-to-server-token',
    keywords: ['ghs_'],
    pattern: `${L}ghs_[A-Za-z0-9]{36}${R}`,
    confidence: 0.99,
    check: randomBody,
    verify: (v) => validBase62Crc32Token(v, 4),
    unverifiedConfidence: 0.8,
  },
  {
    id: 'github-refresh-token',
    keywords: ['ghr_'],
    pattern: `${L}ghr_[A-Za-z0-9]{36}${R}`,
    confidence: 0.99,
    check: randomBody,
    verify: (v) => validBase62Crc32Token(v, 4),
    unverifiedConfidence: 0.8,
  },
  { id: 'github-fine-grained-pat', keywords: ['github_pat_'], pattern: `github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}${R}`, confidence: 0.97 },
  { id: 'gitlab-pat', keywords: ['glpat-'], pattern: `glpat-[A-Za-z0-9_-]{20,60}(?:\\.[A-Za-z0-9]{2}\\.[A-Za-z0-9]{9})?${R}`, confidence: 0.95 },
  {
    id: 'gitlab-token',
    keywords: ['glcbt-', 'gloas-', 'glft-', 'glimt-', 'glagent-', 'glsoat-', 'glffct-', 'gr1348941'],
    pattern: `${L}(?:glcbt-[a-f0-9]{1,5}_[A-Za-z0-9_-]{20,60}|gloas-[a-f0-9]{64}|glft-[A-Za-z0-9_-]{20,60}|glimt-[a-z0-9]{25}|glagent-[A-Za-z0-9_-]{50,80}|glsoat-[A-Za-z0-9_-]{20,60}|glffct-[A-Za-z0-9_-]{20,60}|GR1348941[A-Za-z0-9_-]{20,60})${R}`,
    confidence: 0.9,
    minEntropy: 3.3,
  },
  { id: 'gitlab-pipeline-trigger-token', keywords: ['glptt-'], pattern: `glptt-[a-f0-9]{40}${R}`, confidence: 0.95 },
  { id: 'gitlab-runner-token', keywords: ['glrt-'], pattern: `glrt-[A-Za-z0-9_-]{20,60}${R}`, confidence: 0.9 },
  { id: 'gitlab-deploy-token', keywords: ['gldt-'], pattern: `gldt-[A-Za-z0-9_-]{20,60}${R}`, confidence: 0.9 },
  { id: 'atlassian-api-token', keywords: ['atatt', 'atctt'], pattern: `${L}AT(?:ATT|CTT)[A-Za-z0-9_=-]{100,300}${R}`, confidence: 0.95 },
  { id: 'bitbucket-app-password', keywords: ['atbb'], pattern: `${L}ATBB[A-Za-z0-9]{24,40}${R}`, confidence: 0.9, minEntropy: 3.5 },
  { id: 'buildkite-token', keywords: ['bkua_'], pattern: `${L}bkua_[a-f0-9]{40}${R}`, confidence: 0.9 },
  { id: 'docker-hub-pat', keywords: ['dckr_pat_', 'dckr_oat_'], pattern: `dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,40}${R}`, confidence: 0.95 },
  // Package registries
  { id: 'npm-access-token', keywords: ['npm_'], pattern: `${L}npm_[A-Za-z0-9]{36}${R}`, confidence: 0.99, check: randomBody, verify: (v) => validBase62Crc32Token(v, 4), unverifiedConfidence: 0.8 },
  { id: 'pypi-upload-token', keywords: ['pypi-ageichlwas5vcmc'], pattern: `pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,300}${R}`, confidence: 0.98 },
  { id: 'clojars-api-token', keywords: ['clojars_'], pattern: `${L}CLOJARS_[a-z0-9]{60}${R}`, flags: 'i', confidence: 0.95 },
  { id: 'rubygems-api-key', keywords: ['rubygems_'], pattern: `${L}rubygems_[a-f0-9]{48}${R}`, confidence: 0.95 },
  { id: 'nuget-api-key', keywords: ['oy2'], pattern: `${L}oy2[a-z0-9]{43}${R}`, confidence: 0.85, minEntropy: 3.8 },
  // Chat, webhooks, e-mail
  { id: 'slack-bot-token', keywords: ['xoxb-'], pattern: `xoxb-[0-9]{8,13}-[0-9]{8,13}-[A-Za-z0-9]{24}${R}`, confidence: 0.97 },
  { id: 'slack-user-token', keywords: ['xoxp-'], pattern: `xoxp-[0-9]{8,13}-[0-9]{8,13}-[0-9]{8,13}-[a-f0-9]{32}${R}`, confidence: 0.97 },
  { id: 'slack-legacy-token', keywords: ['xoxa-', 'xoxo-', 'xoxr-', 'xoxs-'], pattern: `xox[aors]-[0-9]{1,13}-[A-Za-z0-9-]{10,80}${R}`, confidence: 0.9, minEntropy: 3.3 },
  { id: 'slack-config-token', keywords: ['xoxe.xox', 'xoxe-'], pattern: `xoxe(?:\\.xox[bp])?-[0-9]-[A-Za-z0-9]{100,200}${R}`, confidence: 0.95 },
  { id: 'slack-app-token', keywords: ['xapp-'], pattern: `xapp-[0-9]-[A-Z0-9]{9,11}-[0-9]{10,13}-[a-f0-9]{64}${R}`, confidence: 0.97 },
  {
    id: 'slack-webhook-url',
    keywords: ['hooks.slack.com/'],
    pattern: `hooks\\.slack\\.com/(?:services|workflows|triggers)/T[A-Z0-9]{8,11}/[A-Z0-9]{8,12}/(?:[0-9]{10,20}/)?[A-Za-z0-9]{20,32}`,
    confidence: 0.95,
  },
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
  { id: 'brevo-api-key', keywords: ['xkeysib-', 'xsmtpsib-'], pattern: `x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}${R}`, confidence: 0.97 },
  { id: 'mailersend-api-token', keywords: ['mlsn.'], pattern: `${L}mlsn\\.[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'resend-api-key', keywords: ['re_'], pattern: `${L}re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}${R}`, confidence: 0.9, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 4.0 },
  {
    id: 'mailgun-api-key',
    keywords: ['key-'],
    pattern: `${L}key-[a-z0-9]{32}${R}`,
    confidence: 0.8,
    check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 3.4 && (/^key-[a-f0-9]{32}$/.test(v) || shannonEntropy(v) >= 4.0),
  },
  { id: 'mailchimp-api-key', keywords: ['-us'], back: 32, pattern: `${L}[a-f0-9]{32}-us[0-9]{1,2}${R}`, confidence: 0.85, minEntropy: 3.2 },
  { id: 'twilio-api-key', keywords: ['sk'], pattern: `(?<![A-Za-z0-9])SK[a-f0-9]{32}(?![A-Za-z0-9])`, confidence: 0.8, minEntropy: 3.2 },
  { id: 'firebase-cloud-messaging-key', keywords: [':apa91b'], back: 11, pattern: `${L}AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{130,140}${R}`, confidence: 0.95 },
  // Payments
  { id: 'stripe-secret-key', keywords: ['sk_live_'], pattern: `sk_live_[A-Za-z0-9]{24,99}${R}`, confidence: 0.98 },
  { id: 'stripe-restricted-key', keywords: ['rk_live_'], pattern: `rk_live_[A-Za-z0-9]{24,99}${R}`, confidence: 0.98 },
  { id: 'stripe-test-secret-key', keywords: ['sk_test_', 'rk_test_'], pattern: `[sr]k_test_[A-Za-z0-9]{24,99}${R}`, confidence: 0.8 },
  { id: 'flutterwave-secret-key', keywords: ['flwseck'], pattern: `${L}FLWSECK(?:_TEST)?-[a-h0-9]{32}-X${R}`, confidence: 0.95 },
  { id: 'duffel-api-token', keywords: ['duffel_test_', 'duffel_live_'], pattern: `duffel_(?:test|live)_[A-Za-z0-9_=-]{43}${R}`, confidence: 0.95 },
  {
    id: 'plaid-access-token',
    keywords: ['access-sandbox-', 'access-development-', 'access-production-'],
    pattern: `${L}access-(?:sandbox|development|production)-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}${R}`,
    confidence: 0.9,
  },
  { id: 'easypost-api-key', keywords: ['ezak', 'eztk'], pattern: `${L}EZ[AT]K[A-Za-z0-9]{54}${R}`, confidence: 0.9, minEntropy: 4.0 },
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
    pattern: `${L}sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250}|[A-Za-z0-9]{32,250})${R}`,
    confidence: 0.75,
    check: (v) => {
      const body = v.replace(/^sk-(?:(?:proj|svcacct|admin)-)?/, '');
      // Hex bodies (DeepSeek's `sk-` + 32) carry at most 4 bits a character.
      return generatedLooking(/^[a-f0-9]+$/.test(body) ? 3.2 : 4.0)(body);
    },
    generic: true,
  },
  { id: 'elevenlabs-api-key', keywords: ['sk_'], pattern: `${L}sk_[a-f0-9]{48}${R}`, confidence: 0.85, minEntropy: 3.5 },
  { id: 'langsmith-api-key', keywords: ['lsv2_pt_', 'lsv2_sk_'], pattern: `lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}${R}`, confidence: 0.95 },
  { id: 'langfuse-secret-key', keywords: ['sk-lf-'], pattern: `${L}sk-lf-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}${R}`, confidence: 0.9 },
  { id: 'pinecone-api-key', keywords: ['pcsk_'], pattern: `${L}pcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{50,80}${R}`, confidence: 0.95 },
  { id: 'openai-session-token', keywords: ['sess-'], pattern: `${L}sess-[A-Za-z0-9]{40}${R}`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 4.0 },
  { id: 'groq-api-key', keywords: ['gsk_'], pattern: `${L}gsk_[A-Za-z0-9]{52}${R}`, confidence: 0.95 },
  {
    id: 'huggingface-token',
    keywords: ['hf_', 'api_org_'],
    pattern: `${L}(?:hf_|api_org_)[A-Za-z0-9]{34}${R}`,
    confidence: 0.9,
    check: (v) => /[A-Z]/.test(v) && /[a-z]/.test(v.slice(3)) && shannonEntropy(v) >= 3.8,
  },
  { id: 'replicate-api-token', keywords: ['r8_'], pattern: `${L}r8_[A-Za-z0-9]{37}${R}`, confidence: 0.9, minEntropy: 3.8 },
  { id: 'perplexity-api-key', keywords: ['pplx-'], pattern: `${L}pplx-[A-Za-z0-9]{48}${R}`, confidence: 0.95 },
  { id: 'xai-api-key', keywords: ['xai-'], pattern: `${L}xai-[A-Za-z0-9]{70,90}${R}`, confidence: 0.9, minEntropy: 4.0 },
  // SaaS
  { id: 'linear-api-key', keywords: ['lin_api_'], pattern: `lin_api_[A-Za-z0-9]{40}${R}`, confidence: 0.95 },
  { id: 'notion-token', keywords: ['ntn_', 'secret_'], pattern: `${L}(?:ntn_[A-Za-z0-9]{46}|secret_[A-Za-z0-9]{43})${R}`, confidence: 0.85, minEntropy: 4.0 },
  { id: 'postman-api-key', keywords: ['pmak-'], pattern: `PMAK-[a-f0-9]{24}-[a-f0-9]{34}${R}`, confidence: 0.97 },
  { id: 'new-relic-user-key', keywords: ['nrak-'], pattern: `NRAK-[A-Z0-9]{27}${R}`, confidence: 0.95 },
  { id: 'new-relic-key', keywords: ['nrjs-', 'nrii-', 'nriq-'], pattern: `(?:NRJS-[a-f0-9]{19}|NRI[IQ]-[A-Za-z0-9_-]{25,32})${R}`, confidence: 0.9, minEntropy: 3.2 },
  { id: 'sentry-auth-token', keywords: ['sntrys_', 'sntryu_'], pattern: `(?:sntrys_[A-Za-z0-9+/=_]{60,250}|sntryu_[a-f0-9]{64})${R}`, confidence: 0.95 },
  { id: 'grafana-token', keywords: ['glsa_', 'glc_'], pattern: `${L}(?:glsa_[A-Za-z0-9]{32}_[a-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2})${R}`, confidence: 0.95 },
  { id: 'contentful-token', keywords: ['cfpat-'], pattern: `CFPAT-[A-Za-z0-9_-]{43}${R}`, confidence: 0.95 },
  { id: 'mapbox-secret-token', keywords: ['sk.eyj'], pattern: `${L}sk\\.eyJ[A-Za-z0-9_-]{20,200}\\.[A-Za-z0-9_-]{20,40}${R}`, confidence: 0.95 },
  { id: 'airtable-pat', keywords: ['pat'], pattern: `(?<![A-Za-z0-9])pat[A-Za-z0-9]{14}\\.[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'figma-pat', keywords: ['figd_'], pattern: `${L}figd_[A-Za-z0-9_-]{40,44}${R}`, confidence: 0.95 },
  { id: 'adafruit-io-key', keywords: ['aio_'], pattern: `${L}aio_[A-Za-z0-9]{28}${R}`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 3.8 },
  { id: 'dynatrace-token', keywords: ['dt0c01.'], pattern: `${L}dt0c01\\.[A-Z0-9]{24}\\.[A-Z0-9]{64}${R}`, confidence: 0.97 },
  { id: 'frameio-token', keywords: ['fio-u-'], pattern: `${L}fio-u-[A-Za-z0-9_=-]{64}${R}`, confidence: 0.95 },
  { id: 'infracost-api-token', keywords: ['ico-'], pattern: `${L}ico-[A-Za-z0-9]{32}${R}`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 3.8 },
  { id: 'octopus-deploy-api-key', keywords: ['api-'], pattern: `(?<![A-Za-z0-9_-])API-[A-Z0-9]{26}${R}`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 3.8 },
  { id: 'readme-api-token', keywords: ['rdme_'], pattern: `${L}rdme_[a-z0-9]{70}${R}`, confidence: 0.95 },
  { id: 'scalingo-api-token', keywords: ['tk-us-'], pattern: `${L}tk-us-[A-Za-z0-9_-]{48}${R}`, confidence: 0.9 },
  { id: 'typeform-pat', keywords: ['tfp_'], pattern: `${L}tfp_[A-Za-z0-9_.=-]{59}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'prefect-api-key', keywords: ['pnu_'], pattern: `${L}pnu_[A-Za-z0-9]{36}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'sourcegraph-token', keywords: ['sgp_'], pattern: `${L}sgp_(?:(?:[a-f0-9]{16}|local)_)?[a-f0-9]{40}${R}`, confidence: 0.95 },
  { id: 'tailscale-key', keywords: ['tskey-'], pattern: `${L}tskey-(?:api|auth|client|webhook|scim)-[A-Za-z0-9]{6,20}-[A-Za-z0-9]{20,40}${R}`, confidence: 0.95 },
  { id: 'netlify-token', keywords: ['nfp_', 'nfc_', 'nfo_', 'nfu_', 'nfb_'], pattern: `${L}nf[pcoub]_[A-Za-z0-9]{36}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'render-api-key', keywords: ['rnd_'], pattern: `${L}rnd_[A-Za-z0-9]{32}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'neon-api-key', keywords: ['napi_'], pattern: `${L}napi_[a-z0-9]{64}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'hubspot-pat', keywords: ['pat-na', 'pat-eu', 'pat-ap'], pattern: `${L}pat-(?:na|eu|ap)[0-9]-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}${R}`, confidence: 0.95 },
  { id: 'clickup-pat', keywords: ['pk_'], pattern: `${L}pk_[0-9]{6,10}_[A-Z0-9]{32}${R}`, confidence: 0.9, minEntropy: 3.8 },
  { id: 'circleci-pat', keywords: ['ccipat_'], pattern: `${L}CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}${R}`, confidence: 0.97 },
  { id: 'artifactory-token', keywords: ['akcp'], pattern: `${L}AKCp[A-Za-z0-9]{69}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'dropbox-token', keywords: ['sl.'], pattern: `${L}sl\\.(?:u\\.)?[A-Za-z0-9_-]{130,1200}${R}`, confidence: 0.9, minEntropy: 4.5 },
  { id: 'facebook-access-token', keywords: ['eaac', 'eaam'], pattern: `${L}EAA[CM][A-Za-z0-9]{80,300}${R}`, confidence: 0.85, minEntropy: 4.5 },
  { id: 'scaleway-access-key', keywords: ['scw'], pattern: `(?<![A-Za-z0-9])SCW[A-Z0-9]{17}(?![A-Za-z0-9])`, confidence: 0.8, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 3.5 },
  { id: 'tencent-secret-id', keywords: ['akid'], pattern: `(?<![A-Za-z0-9])AKID[A-Za-z0-9]{32}(?![A-Za-z0-9])`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 4.0 },
  { id: 'yandex-api-key', keywords: ['aqvn'], pattern: `${L}AQVN[A-Za-z0-9_-]{35,38}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'cloudflare-origin-ca-key', keywords: ['v1.0-'], pattern: `${L}v1\\.0-[a-f0-9]{24}-[a-f0-9]{146}${R}`, confidence: 0.95 },
  { id: 'onepassword-service-account-token', keywords: ['ops_eyj'], pattern: `${L}ops_eyJ[A-Za-z0-9+/]{250,2000}={0,3}`, confidence: 0.95 },
  { id: 'harness-token', keywords: ['pat.', 'sat.'], pattern: `${L}(?:pat|sat)\\.[A-Za-z0-9_-]{22}\\.[a-z0-9]{24}\\.[A-Za-z0-9]{20}${R}`, confidence: 0.95 },
  { id: 'fly-io-macaroon', keywords: ['fm1_', 'fm2_', 'fm1a_', 'fm1r_', 'fm2a_', 'fm2r_'], pattern: `${L}fm[12][ar]?_[A-Za-z0-9+/_-]{50,4000}={0,3}`, confidence: 0.9, minEntropy: 4.5 },
  // From the providers' documented formats (as trufflehog's detectors describe them).
  { id: 'posthog-personal-api-key', keywords: ['phx_'], pattern: `${L}phx_[A-Za-z0-9_]{43,48}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'nvidia-api-key', keywords: ['nvapi-'], pattern: `${L}nvapi-[A-Za-z0-9_-]{64}${R}`, confidence: 0.95, minEntropy: 4.0 },
  { id: 'rootly-api-key', keywords: ['rootly_'], pattern: `${L}rootly_[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'sourcegraph-cody-token', keywords: ['slk_'], pattern: `${L}slk_[a-f0-9]{64}${R}`, confidence: 0.9, minEntropy: 3.5 },
  { id: 'flutterwave-secret-key', keywords: ['flwseck-', 'flwseck_test-'], pattern: `${L}FLWSECK(?:_TEST)?-[a-f0-9]{32}-X${R}`, confidence: 0.95 },
  { id: 'ramp-client-secret', keywords: ['ramp_sec_'], pattern: `${L}ramp_sec_[A-Za-z0-9]{48}${R}`, confidence: 0.95, minEntropy: 4.0 },
  { id: 'robinhood-crypto-api-key', keywords: ['rh-api-'], pattern: `${L}rh-api-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}${R}`, confidence: 0.9 },
  { id: 'salad-cloud-api-key', keywords: ['salad_cloud_'], pattern: `${L}salad_cloud_[A-Za-z0-9]{1,7}_[A-Za-z0-9]{7,235}${R}`, confidence: 0.9, minEntropy: 3.8 },
  { id: 'apify-api-token', keywords: ['apify_api_'], pattern: `${L}apify_api_[A-Za-z0-9]{36}${R}`, confidence: 0.95, minEntropy: 4.0 },
  { id: 'trufflehog-enterprise-secret', keywords: ['thog-secret-'], pattern: `${L}thog-secret-[a-f0-9]{32}${R}`, confidence: 0.9 },
  { id: 'ubidots-token', keywords: ['bbff-'], pattern: `${L}BBFF-[A-Za-z0-9]{30}${R}`, confidence: 0.9, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 4.0 },
  { id: 'zapier-webhook-url', keywords: ['hooks.zapier.com/hooks/catch/'], pattern: `hooks\\.zapier\\.com/hooks/catch/[0-9]{4,12}/[A-Za-z0-9]{5,16}`, confidence: 0.85 },
  { id: 'intra42-client-secret', keywords: ['s-s4t2', 'u-s4t2'], pattern: `${L}[su]-s4t2(?:ud|af)-[a-f0-9]{64}${R}`, confidence: 0.95 },
  { id: 'supabase-secret-key', keywords: ['sb_secret_'], pattern: `${L}sb_secret_[A-Za-z0-9_-]{20,64}${R}`, confidence: 0.95, minEntropy: 3.8 },
  { id: 'adobe-client-secret', keywords: ['p8e-'], pattern: `${L}p8e-[A-Za-z0-9_-]{32}${R}`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 4.0 },
  { id: 'databricks-oauth-secret', keywords: ['dose'], pattern: `(?<![A-Za-z0-9])dose[a-f0-9]{32}(?![A-Za-z0-9])`, confidence: 0.85, minEntropy: 3.2 },
  // JFrog reference tokens: the base64 of `reftkn` first.
  { id: 'artifactory-reference-token', keywords: ['cmvmdgtu'], pattern: `${L}cmVmdGtu[A-Za-z0-9]{56}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'endor-labs-api-key', keywords: ['endr+'], pattern: `(?<![A-Za-z0-9])endr\\+[A-Za-z0-9-]{16}(?![A-Za-z0-9+-])`, confidence: 0.85, check: (v) => /[0-9]/.test(v) && shannonEntropy(v) >= 3.5 },
  // Lob, GoCardless, Klaviyo: a bare `live_`/`test_`/`pk_` prefix, so the body's shape is exact.
  { id: 'lob-api-key', keywords: ['live_', 'test_'], pattern: `(?<![A-Za-z0-9_-])(?:live|test)_[a-f0-9]{35}${R}`, confidence: 0.8, minEntropy: 3.3 },
  {
    id: 'gocardless-access-token',
    keywords: ['live_'],
    pattern: `(?<![A-Za-z0-9_-])live_[A-Za-z0-9_-]{40}${R}`,
    confidence: 0.8,
    check: (v) => /[0-9]/.test(v) && /[A-Z]/.test(v) && /[a-z]/.test(v.slice(5)) && shannonEntropy(v) >= 4.2,
  },
  { id: 'klaviyo-private-key', keywords: ['pk_'], pattern: `${L}pk_(?:[A-Za-z0-9]{6}_)?[a-f0-9]{34}${R}`, confidence: 0.8, minEntropy: 3.3 },
  // Salesforce: an access token is the org id, `!`, then the session; a refresh token starts `5Aep861`.
  { id: 'salesforce-access-token', keywords: ['00d'], pattern: `(?<![A-Za-z0-9])00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{80,200}${R}`, confidence: 0.9, minEntropy: 4.0 },
  { id: 'salesforce-refresh-token', keywords: ['5aep861'], pattern: `${L}5Aep861[A-Za-z0-9._]{80,200}${R}`, confidence: 0.9, minEntropy: 4.0 },
  {
    id: 'twitter-bearer-token',
    // The token starts with 21 `A`s, so the repeated-character placeholder rule must not apply.
    keyMaterial: true,
    keywords: ['aaaaaaaaaaaaaaaaaaaaa'],
    pattern: `(?<![A-Za-z0-9])AAAAAAAAAAAAAAAAAAAAA[A-Za-z0-9%]{30,150}(?![A-Za-z0-9%])`,
    confidence: 0.85,
    check: (v) => shannonEntropy(v.slice(21)) >= 4.2,
  },
  {
    id: 'microsoft-annotated-key',
    // Azure DevOps PATs and other Microsoft identifiable keys: 84 characters, `JQQJ9` at 52.
    keywords: ['jqqj9'],
    back: 52,
    pattern: `(?<![A-Za-z0-9])[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9]{26}(?![A-Za-z0-9])`,
    confidence: 0.95,
  },
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
    // A body (even one flattened onto a line, or with JSON's `\\n`) of at least 40 base64 characters.
    check: (v) => /[A-Za-z0-9+/]{40}/.test(v) || (v.match(/[A-Za-z0-9+/]{8,}/g) ?? []).join('').length >= 40,
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
    check: (v, m) => urlPassword(v, m),
  },
  { id: 'url-password', keywords: ['://'], pattern: `://[^\\s:@/?#'"]{1,64}:([^\\s@/?#'"]{3,128})@(?=[A-Za-z0-9.[\\-])`, confidence: 0.8, check: (v, m) => urlPassword(v, m) },
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
    keywords: ['password', 'passwd', 'passphrase', 'pwd', '_pass', '-pass', '.pass', '"pass"', "'pass'"],
    // A key named only `pass` counts when quoted (`{"user": "svc", "pass": "…"}`).
    pattern: `(?:password|passwd|passphrase|pwd|[_.-]pass(?![A-Za-z])|["']pass(?=["']))${ASSIGN}${assignedValue(6, 128)}`,
    flags: 'i',
    confidence: 0.7,
    check: (v, m) => passwordLooking(v) && !placeholderInside(v) && !calledAfter(m) && !encryptedContext(v, m),
    generic: true,
  },
  {
    id: 'generic-api-key',
    keywords: ['api_key', 'apikey', 'api-key', 'api_secret', 'secret', 'token', 'access_key', 'accesskey', 'auth', 'credential', 'private_key', 'accountkey', 'account_key', '_key', '-key'],
    pattern: `(?<![:/])(?:(?<=[A-Za-z0-9])[_-]key(?![A-Za-z])|api[_-]?key|api[_-]?secret|secret(?!s?[-_]?(?:manager|arn|name|id|ref|path|version)(?![a-z]))|token|access[_-]?key|account[_-]?key|auth|credential|private[_-]?key)${ASSIGN}${assignedValue(16, 256)}`,
    flags: 'i',
    confidence: 0.7,
    // A bare `…_key` (`ALGOLIA_KEY`, `cache_key`) names keys of every kind: its value must be
    // longer and more random than an `api_key`'s.
    check: (v, m) =>
      (/^[_-]key/i.test(m[0]) ? v.length >= 20 && !/[:/]/.test(v) && generatedLooking(3.8)(v) : generatedLooking(3.3)(v)) &&
      !placeholderInside(v) &&
      !calledAfter(m) &&
      !namesAnId(m) &&
      !encryptedContext(v, m),
    generic: true,
  },
  // Secrets passed without `=` or `:`: as the second argument after a key name
  // (`setProperty("DB_PASSWORD", "…")`, `headers.put("X-Api-Key", "…")`), as an XML
  // `key="…Key" value="…"` pair, on a command line (`curl -u user:pass`, `mysql -p…`,
  // `sshpass -p`, `docker login -p`), in `.netrc`, or in a sentence ("the password is …").
  {
    id: 'generic-keyed-argument',
    keywords: ['password', 'passwd', 'secret', 'token', 'api_key', 'api-key', 'apikey', 'credential', '_pass', 'accountkey', 'access_key', 'accesskey', '_salt'],
    // The quote before the key name is checked in `check`: a look-behind here cost every keyword hit.
    // `_salt`: WordPress's `define('AUTH_SALT', '…')`.
    pattern: `(?:password|passwd|secret|token|api[_-]?key|credential|_pass|account[_-]?key|access[_-]?key|_salt)[A-Za-z0-9_.-]{0,20}["'][ \\t]{0,4},[ \\t]{0,4}(?:"([^"\\s]{6,256})"|'([^'\\s]{6,256})')`,
    flags: 'i',
    confidence: 0.7,
    check: (v, m) => quotedKeyBefore(m) && (/pass/i.test(m[0].slice(0, 12)) ? passwordLooking(v) : generatedLooking(3.3)(v)) && !encryptedContext(v, m),
    generic: true,
  },
  {
    // A name/value pair: a Kubernetes `env:` entry (`- name: DB_PASSWORD` then `value: …`), an
    // ECS task definition or API payload (`{"name": "API_TOKEN", "value": "…"}`).
    id: 'name-value-secret',
    keywords: ['password', 'passwd', 'secret', 'token', 'api_key', 'apikey', 'api-key', '_pass', 'credential'],
    pattern: `(?:password|passwd|secret|token|api[_-]?key|_pass|credential)[A-Za-z0-9_.-]{0,30}["']?[ \\t]{0,4}(?:,[ \\t]{0,4}|\\r?\\n[ \\t]{0,40})["']?value["']?[ \\t]{0,4}[:=][ \\t]{0,4}${assignedValue(6, 256)}`,
    flags: 'i',
    confidence: 0.75,
    check: (v, m) => nameKeyBefore(m) && (/pass/i.test(m[0].slice(0, 12)) ? passwordLooking(v) : generatedLooking(3.3)(v)) && !placeholderInside(v) && !encryptedContext(v, m),
    generic: true,
  },
  {
    id: 'xml-element-secret',
    // `<password>…</password>` (Maven's settings.xml, Jenkins and .NET configs), `<db.secret>`.
    keywords: ['password>', 'passwd>', 'secret>', 'token>', 'apikey>', 'api_key>', 'api-key>', 'accesskey>', 'access_key>'],
    pattern: `(?<=<[A-Za-z0-9_.:-]{0,30})(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)>([^<\\s]{6,256})</`,
    flags: 'i',
    confidence: 0.7,
    check: (v, m) => (/pass/i.test(m[0].slice(0, 8)) ? passwordLooking(v) : generatedLooking(3.3)(v)) && !placeholderInside(v) && !/^\\{AQAAAB/.test(v),
    generic: true,
  },
  {
    id: 'generic-auth-tuple',
    keywords: ['auth'],
    pattern: `auth[ \\t]{0,2}=[ \\t]{0,2}\\([ \\t]{0,2}["'][^"'\\s]{1,64}["'][ \\t]{0,2},[ \\t]{0,2}(?:"([^"\\s]{6,128})"|'([^'\\s]{6,128})')`,
    flags: 'i',
    confidence: 0.75,
    check: passwordLooking,
    generic: true,
  },
  {
    id: 'xml-key-value',
    keywords: ['value='],
    pattern: `(?<=(?:key|secret|token|password|pwd|credential)[A-Za-z0-9_.-]{0,20}"[ \\t]{1,4})value[ \\t]?=[ \\t]?"([^"\\s]{8,256})"`,
    flags: 'i',
    confidence: 0.7,
    check: (v, m) => (/pass|pwd/i.test(m.input.slice(Math.max(0, m.index - 30), m.index)) ? passwordLooking(v) : generatedLooking(3.3)(v)),
    generic: true,
  },
  {
    id: 'cli-password',
    keywords: ['-u ', '--user ', '--user=', 'sshpass', 'mysql', 'mariadb', 'docker login', 'podman login', 'helm registry login', 'az login', 'redis-cli', 'gh secret set'],
    pattern: `(?:(?:-u|--user)[ =]["']?[^\\s:"'@/]{1,64}:|(?:sshpass|mysql(?:dump|admin)?|mariadb|(?:docker|podman|helm registry|az) login)\\b[^\\n|;&]{0,80}?[ \\t](?:-p[ \\t]?|--password[ \\t])|redis-cli\\b[^\\n|;&]{0,80}?[ \\t](?:-a|--pass)[ \\t]|gh secret set\\b[^\\n|;&]{0,80}?[ \\t](?:-b[ \\t]?|--body[ \\t=]))["']?([^\\s"'-][^\\s"']{3,127})`,
    confidence: 0.75,
    check: passwordLooking,
    generic: true,
  },
  {
    id: 'powershell-plaintext-password',
    keywords: ['convertto-securestring'],
    pattern: `ConvertTo-SecureString[ \\t]+(?:-String[ \\t]+)?(?:"([^"\\s]{6,128})"|'([^'\\s]{6,128})')[ \\t]+-AsPlainText`,
    flags: 'i',
    confidence: 0.8,
    check: passwordLooking,
    generic: true,
  },
  {
    // A Discord bot token: the base64 of the bot's numeric id, a timestamp, an HMAC. With no
    // literal in it, it is looked for where a bot logs in (`Authorization: Bot …`,
    // `bot.run("…")`, `client.login("…")`), and its first part must decode to the id.
    id: 'discord-bot-token',
    keywords: ['bot ', 'bot.run(', '.login('],
    pattern: `(?:Bot[ \\t]{1,4}|bot\\.run\\([ \\t]{0,4}["'\`]|\\.login\\([ \\t]{0,4}["'\`])([MNO][A-Za-z0-9_-]{23,27}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,38})(?![A-Za-z0-9_-])`,
    flags: 'i',
    confidence: 0.85,
    check: (v) => /^[0-9]{17,20}$/.test(base64Decode(v.slice(0, v.indexOf('.'))) ?? '') && shannonEntropy(v.slice(v.lastIndexOf('.') + 1)) >= 4.0,
  },
  {
    // Terraform: `variable "db_password" { default = "…" }`.
    id: 'terraform-variable-default',
    keywords: ['variable "'],
    pattern: `variable[ \\t]{1,4}"[A-Za-z0-9_-]{0,40}(?:password|passwd|secret|token|api_key|apikey)[A-Za-z0-9_-]{0,20}"[ \\t]{0,4}\\{[^}]{0,200}?default[ \\t]{0,4}=[ \\t]{0,4}"([^"\\s]{6,128})"`,
    flags: 'i',
    confidence: 0.75,
    check: (v, m) => (/pass/i.test(m[0].slice(0, 60)) ? passwordLooking(v) : generatedLooking(3.3)(v)) && !placeholderInside(v),
    generic: true,
  },
  {
    id: 'netrc-password',
    keywords: ['machine'],
    pattern: `machine[ \\t]+\\S{1,253}\\s{1,10}login[ \\t]+\\S{1,128}\\s{1,10}password[ \\t]+(\\S{4,128})`,
    confidence: 0.85,
    // `other-password`, `s3cr3t`: documentation's examples.
    check: (v) => !isReference(v) && (v.length < 6 ? !leetWord(v) : passwordLooking(v)),
  },
  {
    id: 'prose-password',
    keywords: ['password', 'passphrase', 'passcode'],
    pattern: `(?:password|passphrase|passcode)[ \\t]{1,3}(?:is|was|(?:set|reset|changed) to)[ \\t]{1,3}["'\`]?([^\\s"'\`,;]{8,64})`,
    flags: 'i',
    confidence: 0.7,
    check: (v) => passwordLooking(v.replace(/[.!?)]$/, '')) && charClasses(v) >= 3,
    generic: true,
  },
];
