/**
 * What looks like a secret but is not one: the example keys providers print in their
 * documentation, and the placeholders people write where a secret will go (`${VAR}`,
 * `<YOUR_KEY>`, `xxxx…`, `changeme`). A candidate matching any of these is not reported.
 */

/** Example credentials published in providers' documentation (verbatim). */
const DOCUMENTED_EXAMPLES: ReadonlySet<string> = new Set([
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  'sk_test_4eC39HqLyjWDarjtT1zdp7dc',
  'sk_test_BQokikJOvBiI2HlWgH4olfQ2',
  'pk_test_TYooMQauvdEDq54NiTphI7jx',
  'gho_16C7e42F292c6912E7710c838347Ae178B4a',
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  // RFC 7617's `Aladdin:open sesame`, in every HTTP client's tests.
  'QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
]);

/** Words that mark a value as a stand-in for a real secret. */
const PLACEHOLDER_WORDS =
  /example|placeholder|changeme|change_me|change-me|changeit|redacted|dummy|sample|your[_-]?(?:api|key|token|secret|pass)|insert[_-]?|replace[_-]?me|xxxx|\*\*\*|\.\.\.|…|<[^>]*>|\$\{|\{\{|%\(|\$\(|%[A-Z_]+%|^\$[A-Za-z_]/i;

/**
 * Keyboard sequences: a value that is mostly one (`1234567890`, `abcdefgh12`) is a
 * placeholder; a longer value that merely contains one (`abc1234567890supersecretvalue`,
 * the ZYX seed's own test secret) is still a secret.
 */
const SEQUENCES = /0?123456789|abcdefgh(?:ij)?/gi;
const MIN_REST_OF_SEQUENCE_VALUE = 8;

/** Values that are exactly a common default rather than a chosen secret. */
const TRIVIAL_VALUES: ReadonlySet<string> = new Set([
  'password',
  'passw0rd',
  'p@ssw0rd',
  'secret',
  'changeme',
  'changeit',
  'admin',
  'root',
  'test',
  'letmein',
  'none',
  'null',
  'undefined',
  'true',
  'false',
  'required',
  'optional',
  'string',
  'hunter2',
  'mypassword',
  'yourpassword',
  'mysecret',
  'topsecret',
  'supersecret',
  'default',
  'pass',
  'passwd',
  'pwd',
  'user',
  'username',
  'foo',
  'bar',
  'baz',
  'foobar',
  'qwerty',
  'abc123',
  'example',
  'sekret',
  'pa55word',
  'pa$$word',
]);

/**
 * Filler: five or more `x`, `*`, `#`, `•`, `.` or `0` in a row (`xxxxx`, `00000`, `*****`), or
 * eight of any one character. Real tokens have shorter runs of other characters (a Heroku
 * token's `_____`, a PyPI macaroon's `nnnnn`), so those do not make a value a placeholder.
 */
const REPEAT_RUN = /([xX*#•.0])\1{4,}|(.)\2{7,}/;

/** The letters a leetspeak word writes as digits or symbols (`s00pers3cret`, `p4ssw0rd1`). */
const LEET: Readonly<Record<string, string>> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

/**
 * True when a value is a lowercase word, possibly in leetspeak with a digit or two after it
 * (`password1`, `s00pers3cret`, `rapunz3l`, `hunter22`): what people type as an example
 * password, not a generated or chosen-strong one.
 *
 * @example leetWord('s00pers3cret') // true
 */
export function leetWord(value: string): boolean {
  if (!/^[a-z0-9@$!]+$/.test(value)) return false;
  const letters = value.replace(/[0-9]{1,3}$/, '').replace(/[0-9@$!]/g, (c) => LEET[c] ?? c);
  return /^[a-z]{4,}$/.test(letters);
}

/** Percent-escapes decoded (`a%20secret`, `p%40ssword`), for judging a value taken from a URL. */
export function unpercent(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * True when a candidate value is a documented example or a placeholder, not a secret.
 *
 * @example isAllowlistedSecret('AKIAIOSFODNN7EXAMPLE') // true
 * @example isAllowlistedSecret('${GITHUB_TOKEN}') // true
 */
export function isAllowlistedSecret(value: string): boolean {
  if (DOCUMENTED_EXAMPLES.has(value)) return true;
  if (TRIVIAL_VALUES.has(value.toLowerCase())) return true;
  // `pass pass`, `test-test`, `user_pass`: only trivial words.
  const words = unpercent(value)
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
  if (words.length > 1 && words.length <= 4 && words.every((w) => TRIVIAL_VALUES.has(w))) return true;
  if (PLACEHOLDER_WORDS.test(value)) return true;
  if (REPEAT_RUN.test(value)) return true;
  SEQUENCES.lastIndex = 0;
  if (!SEQUENCES.test(value)) return false;
  return value.replace(SEQUENCES, '').length < MIN_REST_OF_SEQUENCE_VALUE;
}

/**
 * True when a value is a reference to a secret rather than the secret: an environment
 * variable, a template expression, a function call or a property path.
 *
 * @example isReference('process.env.DB_PASSWORD') // true
 */
export function isReference(value: string): boolean {
  if (/^[$%@&!]|^\{|\$\{|\{\{|\(|\)$/.test(value)) return true;
  // A URL or URN (`https://auth.internal/v1`, `urn:uuid:…`) says where a secret is, or what it is.
  if (/^(?:[a-z][a-z0-9+.-]{1,15}:\/\/|urn:)/i.test(value)) return true;
  if (/^(?:process\.env|os\.environ|env\.|secrets\.|vars\.|config\.|settings\.|this\.|self\.)/i.test(value)) return true;
  // A dotted identifier path (`user.password`, `cfg.db.pass`) names a value, it is not one.
  if (/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(value)) return true;
  // Paths and file names.
  return /^(?:\/|~\/|\.\.?\/|[A-Za-z]:\\)/.test(value) || /\.(?:pem|key|txt|json|ya?ml|env|p12|pfx|crt)$/i.test(value);
}
