/**
 * An external prompt-injection classifier (a team's PromptGuard, Lakera or cloud guardrail,
 * behind a small HTTP endpoint): called for each tool result `inspectResult` checks, with a
 * time limit and a fail mode the operator must choose. Its verdict is merged with the local
 * detector's (an attack by either is an attack, the score is the higher one); it can only
 * add suspicion, never clear what the local detector found.
 *
 * The contract: `POST url` with `{"text": "...", "action": "...", "source": "..."}` (JSON),
 * answered `200` with `{"score": 0.0–1.0}` and optionally `{"attack": true|false}` and
 * `{"label": "..."}`; `attack` defaults to `score >= threshold`. Anything else (another status,
 * malformed JSON, a missing or out-of-range score, a timeout, a refused connection) is an
 * error, handled by `onError`:
 *
 *   closed: the result counts as an attack (the trace is tainted; flow and untrusted-content
 *           rules then hold later calls): the safe default for a team that relies on it
 *   open:   the local detector's verdict stands alone
 *
 * Either way the error is in the result (the audit event's `classifier`).
 */

import * as z from 'zod';

export interface ClassifierOptions {
  url: string;
  /** How long a call may take, in milliseconds. */
  timeoutMs: number;
  /** A score at or above it is an attack when the answer has no `attack`. */
  threshold: number;
  onError: 'closed' | 'open';
  /** Sent as `Authorization: Bearer …` (read from the environment by the caller). */
  apiKey?: string;
}

/** What the classifier said, as recorded in the audit event. */
export type ClassifierVerdict =
  | { status: 'ok'; score: number; attack: boolean; label?: string; ms: number }
  | { status: 'error'; error: string; onError: 'closed' | 'open'; attack: boolean; ms: number };

const AnswerSchema = z.looseObject({
  score: z
    .number({ error: 'field `score` must be a number from 0 to 1' })
    .min(0, { error: 'field `score` must be a number from 0 to 1' })
    .max(1, { error: 'field `score` must be a number from 0 to 1' }),
  attack: z.boolean({ error: 'field `attack` must be true or false' }).optional(),
  label: z.string({ error: 'field `label` must be a string' }).max(200, { error: 'field `label` must be at most 200 characters' }).optional(),
});

/** The most of a classifier's answer that is read. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Asks the classifier about one text. Never throws: a failure is a verdict with
 * `status: 'error'`, an attack when `onError` is `closed`.
 *
 * @example const v = await classify({ url: 'http://127.0.0.1:9000/classify', timeoutMs: 1000, threshold: 0.5, onError: 'closed' }, { text, action: 'web.fetch' });
 */
export async function classify(options: ClassifierOptions, input: { text: string; action: string; source?: string }): Promise<ClassifierVerdict> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  const failed = (error: string): ClassifierVerdict => ({ status: 'error', error, onError: options.onError, attack: options.onError === 'closed', ms: elapsed() });
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...(options.apiKey !== undefined ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify({ text: input.text, action: input.action, ...(input.source !== undefined ? { source: input.source } : {}) }),
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'error',
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      return failed(`the classifier answered HTTP ${response.status}`);
    }
    const body = await response.text();
    if (body.length > MAX_ANSWER_BYTES) return failed(`the classifier's answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return failed('the classifier did not answer JSON');
    }
    const parsed = AnswerSchema.safeParse(json);
    if (!parsed.success) return failed(`the classifier's answer is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    const { score, attack, label } = parsed.data;
    return { status: 'ok', score, attack: attack ?? score >= options.threshold, ...(label !== undefined ? { label } : {}), ms: elapsed() };
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') return failed(`the classifier did not answer within ${options.timeoutMs} ms`);
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return failed(`cannot reach the classifier${cause}`);
  }
}
