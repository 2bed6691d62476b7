/**
 * Local fake servers for the change review's HTTP connectors: one HTTP server that answers
 * as Jira Cloud REST v3, GitHub REST, Confluence v2, Slack's Web API and AWS STS/EC2 document
 * it, with the demo's CHG-18422 and platform-infra#991. `once` replaces one route's next
 * answer (an error, a rate limit); `seen` records every request.
 */

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const PR991 = join(root, 'examples/change-review/pulls/platform-infra/991');

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One fake server for every API, routed by path. */
export function fakeApis() {
  const seen: Seen[] = [];
  const once = new Map<string, (res: ServerResponse) => void>();
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const files = ['terraform/s3.tf', 'terraform/iam.tf', 'terraform/security_group.tf', 'terraform/cloudwatch.tf'];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const key = `${req.method} ${url.pathname}`;
      const override = once.get(key);
      if (override) {
        once.delete(key);
        return override(res);
      }
      const base = `http://${req.headers.host}`;
      if (key === 'GET /rest/api/3/issue/CHG-18422') {
        return json(res, 200, {
          id: '10042',
          key: 'CHG-18422',
          fields: {
            summary: 'Add S3 bucket, IAM policy, security group rule, and CloudWatch log group',
            description: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Platform change for the development account.' }] }] },
            status: { name: 'Awaiting review' },
            environment: null,
            reporter: { displayName: 'Engineer', emailAddress: 'engineer@zyxbank.example' },
            customfield_10050: null,
          },
        });
      }
      if (key === 'POST /rest/api/3/issue/CHG-18422/comment') return json(res, 201, { id: '10001', body: JSON.parse(body).body });
      if (url.pathname.startsWith('/rest/api/3/issue/')) return json(res, 404, { errorMessages: ['Issue does not exist or you do not have permission to see it.'], errors: {} });
      if (key === 'GET /repos/zyx-bank/platform-infra/pulls/991')
        return json(res, 200, { number: 991, title: 'CHG-18422', body: 'Implements CHG-18422.', state: 'open', user: { login: 'engineer-zyx' }, head: { sha: 'a1b2c3d' } });
      if (key === 'GET /repos/zyx-bank/platform-infra/pulls/991/files') {
        // Two to a page here, to exercise the `Link` pagination GitHub documents.
        const page = Number(url.searchParams.get('page') ?? '1');
        const slice = files.slice((page - 1) * 2, page * 2).map((filename) => ({ sha: 'x', filename, status: 'added', additions: 1, deletions: 0, changes: 1 }));
        const next =
          page < 2
            ? {
                link: `<${base}/repos/zyx-bank/platform-infra/pulls/991/files?per_page=100&page=${page + 1}>; rel="next", <${base}/repos/zyx-bank/platform-infra/pulls/991/files?per_page=100&page=2>; rel="last"`,
              }
            : {};
        return json(res, 200, slice, next);
      }
      const content = /^GET \/repos\/zyx-bank\/platform-infra\/contents\/(.+)$/.exec(key);
      if (content && url.searchParams.get('ref') === 'a1b2c3d' && req.headers['accept'] === 'application/vnd.github.raw+json') {
        res.writeHead(200, { 'content-type': 'application/vnd.github.raw+json' });
        return res.end(readFileSync(join(PR991, decodeURIComponent(content[1] as string)), 'utf8'));
      }
      if (url.pathname.startsWith('/repos/')) return json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      if (key === 'GET /wiki/api/v2/pages/48213') {
        const standards = JSON.parse(readFileSync(join(root, 'examples/change-review/confluence/standards.jsonc'), 'utf8')) as { standards: { id: string; text: string }[] };
        return json(res, 200, {
          id: '48213',
          status: 'current',
          title: 'Cloud Security Standards',
          body: { storage: { representation: 'storage', value: `<ul>${standards.standards.map((s) => `<li><strong>${s.id}</strong>: ${s.text}</li>`).join('')}</ul>` } },
        });
      }
      if (key === 'POST /api/chat.postMessage') {
        const msg = JSON.parse(body) as { channel: string; text: string };
        if (msg.channel !== 'devsecops-change-review') return json(res, 200, { ok: false, error: 'channel_not_found' });
        return json(res, 200, { ok: true, channel: 'C0123456', ts: '1503435956.000247', message: { text: msg.text } });
      }
      if (key === 'GET /sts/') {
        res.writeHead(200, { 'content-type': 'text/xml' });
        return res.end(
          '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::210987654321:assumed-role/ai-review-readonly/bastion</Arn><UserId>AROA:bastion</UserId><Account>210987654321</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata></GetCallerIdentityResponse>',
        );
      }
      if (key === 'GET /ec2/') {
        res.writeHead(200, { 'content-type': 'text/xml' });
        return res.end(
          '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>7a62c49f</requestId><vpcSet><item><vpcId>vpc-0a1b2c3d4e5f60718</vpcId><state>available</state><cidrBlock>10.40.0.0/16</cidrBlock><isDefault>false</isDefault></item></vpcSet></DescribeVpcsResponse>',
        );
      }
      return json(res, 404, { message: `no fake route ${key}` });
    });
  });
  return { server, seen, once };
}
