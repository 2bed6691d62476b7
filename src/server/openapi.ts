/**
 * `GET /openapi.json`: an OpenAPI 3.1 document generated from the routes as they are
 * registered (Fastify's `onRoute` hook sees every one) and their documentation-only `schema`.
 * A route without a schema still appears, with its method and path, so the document never
 * leaves a route out.
 */

import type { RouteSchema } from './schemas.js';

/** One route as the generator saw it registered. */
export interface DocumentedRoute {
  method: string;
  url: string;
  schema?: RouteSchema;
  /** Whether the route asks the caller's identity (a bearer token in production mode). */
  authenticated: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'the answer',
  400: 'bad input, naming the field',
  401: 'no or invalid identity',
  404: 'not found',
  413: 'body larger than 1 MiB',
  415: 'body not `application/json`',
  503: 'not ready',
};

/** `/v1/approvals/:id` → `/v1/approvals/{id}`, and its path parameters. */
function openApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

function mediaType(schema: unknown): string {
  return typeof schema === 'object' && schema !== null && (schema as { type?: unknown }).type === 'string' ? 'text/plain' : 'application/json';
}

/**
 * The OpenAPI 3.1 document of `routes`.
 *
 * @example openApiDocument([{ method: 'GET', url: '/health', authenticated: false }], '0.1.0').paths['/health'].get
 */
export function openApiDocument(routes: readonly DocumentedRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const { path, params } = openApiPath(route.url);
    const s = route.schema ?? {};
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(s.response ?? { 200: {} })) {
      responses[status] = { description: STATUS_TEXT[Number(status)] ?? `status ${status}`, content: { [mediaType(schema)]: { schema } } };
    }
    const operation: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(s.summary !== undefined ? { summary: s.summary } : {}),
      ...(s.description !== undefined ? { description: s.description } : {}),
      ...(s.tags !== undefined ? { tags: [...s.tags] } : {}),
      ...(params.length > 0 || s.querystring !== undefined
        ? {
            parameters: [
              ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
              ...Object.entries((s.querystring as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
            ],
          }
        : {}),
      ...(s.body !== undefined ? { requestBody: { required: true, content: { 'application/json': { schema: s.body } } } } : {}),
      responses,
      security: route.authenticated ? [{ bearer: [] }] : [],
    };
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bastion',
      version,
      description: 'A deterministic governance gateway for AI agents’ actions. Bodies are JSON (`application/json`), at most 1 MiB; every error answer is `{"error": {"code", "message", "fields"?}}`.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a JWT or a Bastion API key; in development mode (`--dev`) identity is not verified' } } },
    paths,
  };
}
