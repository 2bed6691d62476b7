import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quote } from '../../src/core/errors.js';
import { loadConfig } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-config-'));
function config(name: string, text: string) {
  writeFileSync(join(dir, name), text);
  return loadConfig(join(dir, name));
}

describe('the service configuration', () => {
  it('loads the bundled example, resolving paths against the file', () => {
    const r = loadConfig(new URL('../../config/bastion.yaml', import.meta.url).pathname);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ host: '127.0.0.1', port: 8700, baseline: { enabled: true }, audit: { durable: true, retentionDays: 2555 }, dev: false });
    expect(r.value.policies[0]).toMatch(/\/examples\/native$/);
    expect(r.value.dataDir).toMatch(/\/\.bastion$/);
  });

  it('takes approvals and notifications, with defaults, the secret file resolved against the file', () => {
    const r = config(
      'notify.yaml',
      'policies: [p]\napprovals: { defaultApproverGroups: [ops-leads], defaultExpiry: 30m }\nnotifications:\n  webhooks:\n    - { name: ops, url: "https://hooks.example/bastion", secretFile: secrets/hook }\n    - { name: slack, format: slack, urlEnv: SLACK_URL, events: [requested] }\n  retry: { attempts: 3, initialDelay: 500ms }\n',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.approvals).toEqual({ defaultApproverGroups: ['ops-leads'], defaultExpirySeconds: 1800 });
    expect(r.value.notifications).toEqual({
      webhooks: [
        { name: 'ops', url: 'https://hooks.example/bastion', format: 'generic', secretFile: join(dir, 'secrets/hook'), events: ['requested', 'approved', 'denied', 'expired', 'cancelled'] },
        { name: 'slack', format: 'slack', urlEnv: 'SLACK_URL', events: ['requested'] },
      ],
      retry: { attempts: 3, initialDelayMs: 500, maxDelayMs: 60_000 },
      queueSize: 1000,
      timeoutMs: 10_000,
    });
    const plain = config('plain.yaml', 'policies: [p]\n');
    expect(plain.ok && plain.value.approvals).toEqual({ defaultApproverGroups: ['bastion-approvers'], defaultExpirySeconds: 900 });
  });

  it('takes a SIEM with defaults for format and event format', () => {
    const r = config('siem.yaml', 'policies: [p]\naudit:\n  siem: { url: "https://splunk.example:8088/services/collector/event" }\n');
    expect(r.ok && r.value.audit.siem).toEqual({ url: 'https://splunk.example:8088/services/collector/event', format: 'splunk-hec', eventFormat: 'ocsf' });
  });

  it.each([
    ['an unknown field', 'polices: [p]\n', 'field `polices`: unknown field'],
    ['a port out of range', 'server: { port: 70000 }\n', 'field `server.port`: must be a port number'],
    ['an unknown server field', 'server: { hots: x }\n', 'field `server.hots`: unknown field'],
    ['a baseline that is not a boolean', 'baseline: { enabled: maybe }\n', 'field `baseline.enabled`: must be true or false'],
    ['a baseline that is not a mapping', 'baseline: on\n', 'field `baseline`: must be `{ enabled: true | false }`'],
    ['an empty file', '', 'the configuration must be a mapping'],
    ['a retention that is not a whole number', 'audit: { retentionDays: 1.5 }\n', 'field `audit.retentionDays`'],
    ['a token in the file', 'audit: { siem: { url: "https://x.example", token: abc } }\n', 'the token comes from BASTION_SIEM_TOKEN'],
    ['a SIEM format that does not exist', 'audit: { siem: { url: "https://x.example", format: syslog } }\n', 'field `audit.siem.format`'],
    ['an upstream that is not a URL', 'upstream: api.openai.com\n', 'field `upstream`: must be an http(s) URL'],
    ['YAML that does not parse', 'server: [\n', 'while loading'],
    ['approver groups that are empty', 'approvals: { defaultApproverGroups: [] }\n', 'field `approvals.defaultApproverGroups`: must name at least one group'],
    ['an expiry that is not a duration', 'approvals: { defaultExpiry: soon }\n', 'field `approvals.defaultExpiry`: must be how long an approval stays valid'],
    [
      'a webhook secret in the file',
      'notifications: { webhooks: [{ name: ops, url: "https://h.example", secretEnv: S, secret: abc }] }\n',
      'secrets come from `secretEnv` or `secretFile`, never the file itself',
    ],
    ['a generic webhook without a secret', 'notifications: { webhooks: [{ name: ops, url: "https://h.example" }] }\n', 'field `notifications.webhooks[0].secretEnv`: a generic webhook is signed'],
    [
      'a webhook with both url and urlEnv',
      'notifications: { webhooks: [{ name: s, format: slack, url: "https://h.example", urlEnv: U }] }\n',
      'field `notifications.webhooks[0].urlEnv`: give exactly one of `url` and `urlEnv`',
    ],
    [
      'a webhook event that does not exist',
      'notifications: { webhooks: [{ name: s, format: slack, urlEnv: U, events: [approved, maybe] }] }\n',
      'field `notifications.webhooks[0].events[1]`: must be one of',
    ],
    ['too many retry attempts', 'notifications: { webhooks: [], retry: { attempts: 50 } }\n', 'field `notifications.retry.attempts`: must be a whole number from 1 to 20'],
  ])('rejects %s, naming the file and field', (_what, text, message) => {
    const r = config('bad.yaml', text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join('\n')).toContain(message);
  });

  it('takes `storage: {kind: postgres, url}` and `audit.keyDir`; SQLite is the default', () => {
    const r = config('pg.yaml', 'policies: [p]\nstorage: { kind: postgres, url: "postgres://bastion:pw@db.internal:5432/bastion" }\naudit: { keyDir: keys/audit }\n');
    expect(r.ok && r.value.storage).toEqual({ kind: 'postgres', url: 'postgres://bastion:pw@db.internal:5432/bastion' });
    expect(r.ok && r.value.audit.keyDir).toBe(join(dir, 'keys/audit'));
    // The url may be left to BASTION_POSTGRES_URL, read when the app is built.
    const fromEnv = config('pg-env.yaml', 'policies: [p]\nstorage: { kind: postgres }\n');
    expect(fromEnv.ok && fromEnv.value.storage).toEqual({ kind: 'postgres' });
    const plain = config('plain-storage.yaml', 'policies: [p]\n');
    expect(plain.ok && [plain.value.storage, plain.value.audit.keyDir]).toEqual([{ kind: 'sqlite' }, undefined]);
  });

  it.each([
    ['storage: { kind: mysql }', 'line 2, column 18: field `storage.kind`: must be `sqlite` (the default: DIR/bastion.db) or `postgres`'],
    ['storage: { kind: postgres, url: "mysql://root:hunter2@db/x" }', 'line 2, column 33: field `storage.url`: must be a postgres:// or postgresql:// URL'],
    ['storage: { kind: sqlite, url: "postgres://db/x" }', 'line 2, column 31: field `storage.url`: goes with `kind: postgres` only (SQLite lives in the data directory)'],
    [
      'storage: { kind: postgres, uri: "postgres://db/x" }',
      'line 2, column 28: field `storage.uri`: unknown field `uri` in `storage` (expected one of kind, url): the url may come from BASTION_POSTGRES_URL',
    ],
    ['storage: postgres', 'line 2, column 10: field `storage`: must be a mapping such as `{ kind: postgres, url: postgres://… }`'],
  ])('points at a wrong storage section, never printing the URL: %s', (line, message) => {
    const r = config('bad-storage.yaml', `policies: [p]\n${line}\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message)).toEqual([`while loading ${quote(join(dir, 'bad-storage.yaml'))}: ${message}`]);
    expect(JSON.stringify(r.errors)).not.toContain('hunter2');
  });

  it('takes `limits: {redis, prefix}` for limits shared by replicas; none by default', () => {
    const r = config('redis.yaml', 'policies: [p]\nlimits: { onStoreError: open, redis: "rediss://:pw@cache.internal:6380/2", prefix: "acme:bastion:" }\n');
    expect(r.ok && r.value.limits).toEqual({ onStoreError: 'open', redis: 'rediss://:pw@cache.internal:6380/2', prefix: 'acme:bastion:' });
    const plain = config('plain-limits.yaml', 'policies: [p]\n');
    expect(plain.ok && plain.value.limits).toEqual({ onStoreError: 'closed' });
  });

  it.each([
    ['limits: { redis: "http://cache:6379" }', 'line 2, column 18: field `limits.redis`: must be a redis:// or rediss:// URL'],
    ['limits: { redis: "redis://:hunter2@cache", prefix: "a b" }', 'line 2, column 52: field `limits.prefix`: must be 1 to 128 characters without spaces or control characters'],
    [
      'limits: { redis_url: "redis://:hunter2@cache" }',
      'line 2, column 11: field `limits.redis_url`: unknown field `redis_url` in `limits` (expected one of onStoreError, redis, prefix): the Redis URL may come from BASTION_REDIS_URL',
    ],
  ])('points at a wrong limits section, never printing the URL: %s', (line, message) => {
    const r = config('bad-limits.yaml', `policies: [p]\n${line}\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message)).toEqual([`while loading ${quote(join(dir, 'bad-limits.yaml'))}: ${message}`]);
    expect(JSON.stringify(r.errors)).not.toContain('hunter2');
  });

  it("points at the line, column and field of each problem, in the schema's words", () => {
    const r = config('located.yaml', 'server:\n  host: 127.0.0.1\n  port: 70000\naudit:\n  durable: true\n  siem:\n    url: https://x.example\n    token: abc\npolices: [p]\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const file = quote(join(dir, 'located.yaml'));
    expect(r.errors.map((e) => e.message).sort()).toEqual(
      [
        `while loading ${file}: line 3, column 9: field \`server.port\`: must be a port number from 0 to 65535`,
        `while loading ${file}: line 8, column 5: field \`audit.siem.token\`: unknown field \`token\` in \`audit.siem\` (expected one of url, format, eventFormat): the token comes from BASTION_SIEM_TOKEN`,
        `while loading ${file}: line 9, column 1: field \`polices\`: unknown field \`polices\` in the configuration (expected one of server, dataDir, policies, shadowPolicies, baseline, audit, storage, upstream, proxy, dev, identity, admin_groups, limits, approvals, notifications, review, scanners, mcp, hooks, exec, detections)`,
      ].sort(),
    );
    expect(r.errors.find((e) => e.field === 'server.port')).toMatchObject({ code: 'CONFIG_INVALID', line: 3, column: 9 });
  });

  it('reports a YAML syntax error with its line', () => {
    const r = config('syntax.yaml', 'server:\n  host: a\n   port: 1\n');
    expect(!r.ok && r.errors[0]).toMatchObject({ code: 'CONFIG_INVALID', line: 2 });
    expect(!r.ok && r.errors[0]?.message).toMatch(/^while loading `[^`]+`: line 2, column \d+: /);
  });

  it('reports a missing file', () => {
    const r = loadConfig(join(dir, 'nope.yaml'));
    expect(!r.ok && r.errors[0]?.message).toContain('no such file');
  });
});

describe('the identity section', () => {
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, '{"keys": []}');

  it('resolves the shape DESIGN.md shows: defaults filled in, the key file against the config file', () => {
    const r = config(
      'identity.yaml',
      'identity:\n  jwt:\n    jwksFile: ./jwks.json\n    issuer: https://idp.example.com/\n    audience: bastion\n    algorithms: [RS256, ES256, EdDSA]\n    clockToleranceSeconds: 30\n    claims: { id: sub, groups: groups, deviceCompliant: device_compliant }\n  apiKeys: true\n',
    );
    expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
    if (!r.ok) return;
    expect(r.value.identity).toMatchObject({
      apiKeys: true,
      jwt: {
        keys: { kind: 'jwksFile', path: jwks },
        issuer: ['https://idp.example.com/'],
        audience: ['bastion'],
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clockToleranceSeconds: 30,
        requiredClaims: [],
        claims: { id: 'sub', groups: 'groups', deviceCompliant: 'device_compliant' },
        jwksCooldownSeconds: 30,
      },
    });
    expect(r.value.identity.headers.id).toEqual(['x-bastion-principal-id', 'x-controlzero-user-id', 'x-user-email']);
  });

  it('leaves identity unconfigured without the section', () => {
    const r = config('none.yaml', 'policies: [p]\n');
    expect(r.ok && r.value.identity).toEqual({ apiKeys: false, headers: expect.objectContaining({ groups: ['x-bastion-principal-groups', 'x-controlzero-user-group', 'x-user-groups'] }) });
  });

  it.each([
    ['alg none', 'algorithms: [none]', 'field `identity.jwt.algorithms[0]`: `none` would accept unsigned tokens: it is never allowed'],
    ['a symmetric algorithm', 'algorithms: [ES256, HS256]', 'field `identity.jwt.algorithms[1]`: `HS256` is symmetric: every holder of the shared secret could mint tokens'],
    ['an unknown algorithm', 'algorithms: [XS1]', 'unknown algorithm `XS1`'],
    ['a skew beyond 300 s', 'clockToleranceSeconds: 3600', 'field `identity.jwt.clockToleranceSeconds`: must be a number of seconds from 0 to 300'],
    ['an http JWKS on a remote host', 'jwksUrl: http://idp.example.com/jwks', 'field `identity.jwt.jwksUrl`: must be an https URL (http only on a loopback host)'],
    ['two key sources', 'publicKeyFile: ./key.pem', 'field `identity.jwt.publicKeyFile`: give only one of `jwksUrl`, `jwksFile` or `publicKeyFile` (`jwksFile` is given too)'],
    ['a misspelt claim key', 'claims: { group: roles }', 'field `identity.jwt.claims.group`: unknown field `group` in `identity.jwt.claims`'],
  ])('refuses %s at load, with line and field', (_what, extra, message) => {
    const r = config('bad-identity.yaml', `identity:\n  jwt:\n    jwksFile: ./jwks.json\n    issuer: https://idp/\n    audience: bastion\n    ${extra}\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.message).join('\n')).toContain(message);
    expect(r.errors.find((e) => e.message.includes(message))).toMatchObject({ code: 'CONFIG_INVALID', line: 6, file: join(dir, 'bad-identity.yaml') });
  });

  it.each([
    ['no key source', 'identity:\n  jwt:\n    issuer: a\n    audience: b\n', 'field `identity.jwt`: needs the keys: one of `jwksUrl`, `jwksFile` or `publicKeyFile`'],
    ['no issuer or audience', 'identity:\n  jwt:\n    jwksFile: ./jwks.json\n', 'field `identity.jwt.issuer`: must be the accepted issuer'],
    ['a key file that does not exist', 'identity:\n  jwt:\n    jwksFile: ./nope.json\n    issuer: a\n    audience: b\n', 'line 3, column 15: field `identity.jwt.jwksFile`: no such file'],
    ['apiKeys that is not a boolean', 'identity:\n  apiKeys: yes-please\n', 'field `identity.apiKeys`: must be true or false'],
    ['a header name with a space', 'identity:\n  headers: { id: "x user" }\n', 'field `identity.headers.id`: `x user` is not a header name'],
  ])('refuses %s', (_what, text, message) => {
    const r = config('bad-identity2.yaml', text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join('\n')).toContain(message);
  });
});

describe('the model-API proxy settings', () => {
  it('default to errors on refused calls, 120 s / 60 s timeouts and text left as it is', () => {
    const r = config('proxy-default.yaml', 'policies: [./p]\nupstream: https://api.openai.com/v1\n');
    expect(r.ok && r.value.proxy).toEqual({ onDeny: 'error', timeoutMs: 120_000, idleTimeoutMs: 60_000, redactText: false });
    expect(r.ok && r.value.upstream).toBe('https://api.openai.com/v1');
  });

  it('read `proxy:` with durations', () => {
    const r = config('proxy-set.yaml', 'policies: [./p]\nproxy: { onDeny: strip, timeout: 30s, idleTimeout: 500ms, redactText: true }\n');
    expect(r.ok && r.value.proxy).toEqual({ onDeny: 'strip', timeoutMs: 30_000, idleTimeoutMs: 500, redactText: true });
  });

  it('point at a wrong value', () => {
    const r = config('proxy-bad.yaml', 'policies: [./p]\nproxy:\n  onDeny: drop\n');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors[0]?.message).toMatch(/line 3, column 11: field `proxy.onDeny`: must be `error` .* or `strip`/);
  });
});

describe('the detections section', () => {
  it('resolves rule paths against the file and fills the placeholders', () => {
    const r = config(
      'detections.yaml',
      "detections:\n  rules: [./detections]\n  businessHours: { start: '07:30', timezone: Europe/Stockholm }\n  serviceAccounts: [svc-agent]\n  expectedNetworks: [10.0.0.0/8, '2001:db8::/32']\n  approvers: [alice]\n  placeholders: { prod_groups: [sre] }\n",
    );
    expect(r.ok, JSON.stringify(!r.ok && r.errors)).toBe(true);
    if (!r.ok) return;
    expect(r.value.detections).toEqual({
      rules: [join(dir, 'detections')],
      businessHours: { start: '07:30', end: '18:00', timezone: 'Europe/Stockholm', days: ['mon', 'tue', 'wed', 'thu', 'fri'] },
      placeholders: { prod_groups: ['sre'], service_accounts: ['svc-agent'], expected_networks: ['10.0.0.0/8', '2001:db8::/32'], approvers: ['alice'] },
    });
  });

  it('is absent when the file has none', () => {
    const r = config('no-detections.yaml', 'dataDir: .bastion\n');
    expect(r.ok && r.value.detections).toBeUndefined();
  });

  it.each([
    [
      'a time that is not HH:MM',
      "detections: { businessHours: { start: '8am' } }\n",
      'line 1, column 39: field `detections.businessHours.start`: must be a time of day such as `08:00` (HH:MM, 24-hour)',
    ],
    ['an unknown time zone', 'detections: { businessHours: { timezone: Mars/Olympus } }\n', 'field `detections.businessHours.timezone`: `Mars/Olympus` is not an IANA time zone'],
    ['an unknown day', 'detections: { businessHours: { days: [mon, funday] } }\n', 'field `detections.businessHours.days[1]`: must be one of mon, tue, wed, thu, fri, sat, sun'],
    ['an end before the start', "detections: { businessHours: { start: '18:00', end: '08:00' } }\n", 'field `detections.businessHours`: must have `start` before `end`'],
    ['a network that is not a CIDR', 'detections: { expectedNetworks: [10.0.0.0/33] }\n', 'field `detections.expectedNetworks[0]`: `10.0.0.0/33` is not a CIDR network such as `10.0.0.0/8`'],
    ['an unknown key', 'detections: { serviceAccount: [a] }\n', 'unknown field `serviceAccount` in `detections`'],
  ])('rejects %s, naming the field', (_what, text, message) => {
    const r = config('bad-detections.yaml', text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.message).join('\n')).toContain(message);
  });
});
