// HTTP figures: `POST /v1/decide` of a running service with durable audit (SQLite,
// synchronous=FULL, group commit), a real shell command in the arguments, under autocannon
// (50 connections for 10 s by default), and a bare Fastify route parsing the same body in
// the same run as the machine's ceiling. Run as `node bench/http.bench.mjs <out.json>` after
// `npm run build`.
//
// Environment:
//   BASTION_BENCH_HTTP_SECONDS       duration of each load run (default 10; 2-3 for a smoke run)
//   BASTION_BENCH_HTTP_CONNECTIONS   concurrent connections (default 50)
//   BASTION_BENCH_IDENTITY           dev (default): development mode, the principal in the body;
//                                    jwt: production mode with `identity.jwt.publicKeyFile` in the
//                                    config and an ES256 token signed by a key made for the run
//   BASTION_BENCH_HTTP_PROFILE       a file: writes a V8 CPU profile (.cpuprofile) of the server
//                                    during the /v1/decide run only (the figures then include
//                                    the profiler's cost)
//
// autocannon runs in its own process, so the load generator and the server share the two
// cores as they would with a client on the same host; the service runs in this process.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { createBastionApp } from '../dist/app/index.js';
import { loadConfig } from '../dist/config/index.js';

const root = new URL('..', import.meta.url).pathname;
const out = process.argv[2];
const SECONDS = Number(process.env.BASTION_BENCH_HTTP_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BASTION_BENCH_HTTP_CONNECTIONS ?? 50);
const IDENTITY = process.env.BASTION_BENCH_IDENTITY ?? 'dev';
if (!['dev', 'jwt'].includes(IDENTITY)) throw new Error(`BASTION_BENCH_IDENTITY must be dev or jwt, got ${IDENTITY}`);

const COMMAND = 'du -sh /var/log/* 2>/dev/null | sort -h | tail -n 5';
const principal = { id: 'sre-agent', groups: ['sre'] };

/** The config and the request's headers and body for each identity mode. */
const identities = {
  async dev() {
    return { yaml: 'dev: true\n', headers: {}, body: { principal, action: 'shell.execute', args: { command: COMMAND } } };
  },
  async jwt(dir) {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    writeFileSync(join(dir, 'jwt-public.pem'), await exportSPKI(publicKey));
    const token = await new SignJWT({ groups: principal.groups })
      .setProtectedHeader({ alg: 'ES256' })
      .setSubject(principal.id)
      .setIssuer('https://idp.bench.example/')
      .setAudience('bastion')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    const yaml = [
      'identity:',
      '  jwt:',
      '    publicKeyFile: ./jwt-public.pem',
      '    issuer: https://idp.bench.example/',
      '    audience: bastion',
      '    algorithms: [ES256]',
      '    claims: { id: sub, groups: groups }',
      '',
    ].join('\n');
    return { yaml, headers: { authorization: `Bearer ${token}` }, body: { action: 'shell.execute', args: { command: COMMAND } } };
  },
};

/** Runs autocannon against url in a child process; resolves with its JSON report. */
function load(url, headers, body) {
  const args = [join(root, 'node_modules/autocannon/autocannon.js'), '--json', '-c', String(CONNECTIONS), '-d', String(SECONDS), '-m', 'POST', '-H', 'content-type=application/json'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push('-b', JSON.stringify(body), url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (c) => (text += c));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`autocannon exited ${code}`))));
  });
}

/** The report's figures, with the CPU this process (the server) spent per answered request. */
function figures(report, cpu) {
  return {
    serverCpuMicrosPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, report.requests.total)),
    requestsPerSecond: Math.round(report.requests.average),
    p50ms: report.latency.p50,
    p99ms: report.latency.p99,
    maxMs: report.latency.max,
    requests: report.requests.total,
    non2xx: report.non2xx,
    errors: report.errors,
    timeouts: report.timeouts,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'bastion-bench-http-'));
let app;
let bare;
try {
  const mode = await identities[IDENTITY](dir);
  writeFileSync(join(dir, 'bastion.yaml'), `server: { host: 127.0.0.1, port: 0 }\ndataDir: ./data\npolicies: [${join(root, 'examples/native')}]\naudit: { durable: true }\n${mode.yaml}`);
  const config = loadConfig(join(dir, 'bastion.yaml'), dir);
  if (!config.ok) throw new Error(`BASTION_BENCH_IDENTITY=${IDENTITY}: the config does not load in this build: ${config.errors.map((e) => e.message).join('; ')}`);
  const built = await createBastionApp({ config: config.value, io: { stderr: process.stderr, env: {} }, watch: false });
  if (!built.ok) throw new Error(built.errors.map((e) => e.message).join('; '));
  app = built.value;
  const started = await app.start();
  if (!started.ok) throw new Error(started.errors.map((e) => e.message).join('; '));
  const url = `${started.value.url}/v1/decide`;

  // One call first: the decision must be real (the pipeline analyzed, the call allowed).
  const probe = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...mode.headers }, body: JSON.stringify(mode.body) });
  const decision = await probe.json();
  if (probe.status !== 200 || decision.decision !== 'allow' || !decision.analysis?.commands?.some((c) => c.program === 'sort')) {
    throw new Error(`the benchmark request is not decided as expected (${probe.status}): ${JSON.stringify(decision).slice(0, 300)}`);
  }

  // The ceiling: a bare Fastify route taking the same body, parsed as JSON, answered in JSON.
  bare = Fastify({ logger: false });
  bare.post('/bare', async (request) => ({ ok: true, action: request.body.action }));
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareUrl = `http://127.0.0.1:${bare.server.address().port}/bare`;

  console.log(`${CONNECTIONS} connections, ${SECONDS} s each, identity ${IDENTITY}, command: ${COMMAND}`);
  const measured = async (target) => {
    const before = process.cpuUsage();
    const report = await load(target, mode.headers, mode.body);
    return figures(report, process.cpuUsage(before));
  };
  const ceiling = await measured(bareUrl);
  console.log(`bare Fastify route:   ${ceiling.requestsPerSecond} req/s, p50 ${ceiling.p50ms} ms, p99 ${ceiling.p99ms} ms, ${ceiling.serverCpuMicrosPerRequest} µs of server CPU per request`);
  const profileFile = process.env.BASTION_BENCH_HTTP_PROFILE;
  const session = profileFile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const decide = await measured(url);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of the /v1/decide run: ${profileFile}`);
  }
  console.log(
    `POST /v1/decide:      ${decide.requestsPerSecond} req/s, p50 ${decide.p50ms} ms, p99 ${decide.p99ms} ms, ${decide.serverCpuMicrosPerRequest} µs of server CPU per request (${decide.non2xx} non-2xx, ${decide.errors} errors)`,
  );
  const audited = (await app.stores.audit.query({ type: 'decision' })).length;
  console.log(`decisions audited:    ${audited} (durable)`);
  if (decide.non2xx > 0 || decide.errors > 0) throw new Error(`${decide.non2xx} non-2xx answers and ${decide.errors} errors under load`);

  writeFileSync(
    out,
    JSON.stringify({
      connections: CONNECTIONS,
      seconds: SECONDS,
      identity: IDENTITY,
      command: COMMAND,
      bareFastify: ceiling,
      decide,
      decideShareOfCeiling: Math.round((decide.requestsPerSecond / ceiling.requestsPerSecond) * 100) / 100,
      decisionsAudited: audited,
      target: { requestsPerSecond: 5000, p99ms: 10 },
    }),
  );
} finally {
  await bare?.close();
  await app?.stop('bench done');
  rmSync(dir, { recursive: true, force: true });
}
