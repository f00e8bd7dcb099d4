import type http from 'node:http';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { bodySchemaProblems } from '../../../src/connectors/fixture-body-schemas';
import { listenLocal } from '../local-server';
import type { LocalServer } from '../local-server';

/**
 * A local emulator of a Microsoft Teams workflow (the Workflows app) that starts with "When a Teams
 * webhook request is received" and posts each card it is sent, as the template "Send webhook alerts
 * to a channel" does. Written from Microsoft's documentation (docs/connectors/teams-conformance.md
 * lists each behaviour with its page, this file's line and the test that needs it):
 *
 * - Office 365 connectors (incoming webhooks) are retired; a webhook is a workflow's trigger, and
 *   Workflows take Adaptive Cards only, not the connectors' message cards:
 *   https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook
 * - The trigger's request body (Microsoft Teams connector, "Microsoft Teams Webhook"):
 *   {type: "message", attachments: [{contentType: "application/vnd.microsoft.card.adaptive",
 *   contentUrl: null, content: <Adaptive Card>}]}, contentType, contentUrl and content required;
 *   a body that does not match is refused with 400 TriggerInputSchemaMismatch ("Required properties
 *   are missing from object: contentUrl."):
 *   https://learn.microsoft.com/en-us/connectors/teams/?tabs=text1%2Cdotnet#microsoft-teams-webhook
 * - A request trigger without a Response action answers 202 Accepted at once; the workflow runs
 *   afterwards, and what it does is seen in its run history, not by the caller:
 *   https://learn.microsoft.com/en-us/azure/connectors/connectors-native-reqres
 * - A message over about 28 KB fails the posting action with "Request Entity too large" (in the
 *   run; the caller had its 202): https://learn.microsoft.com/en-us/connectors/teams/ (known issues,
 *   message size limit); the Teams webhook page gives the same 28 KB.
 * - Teams renders Adaptive Cards up to version 1.5:
 *   https://learn.microsoft.com/en-us/microsoft-copilot-studio/guidance/adaptive-cards-overview
 * - More than four requests a second are throttled (429, Retry-After), and connectors are held to
 *   60 requests in 30 seconds:
 *   https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#rate-limiting-for-connectors
 *
 * Not documented by Microsoft, taken from Logic Apps' error bodies as public reports quote them
 * (the conformance page says so): 401 for a missing or wrong signature, 404 for a deleted workflow,
 * 409 WorkflowTriggerIsNotEnabled for one turned off.
 *
 * Each card a run posts is held to the published Adaptive Card 1.5 schema
 * (schemas/vendor/adaptive-card-1.5.json), which is stricter than Teams' own parser (it drops
 * unknown elements with a warning): a card this emulator posts, Teams renders as sent.
 */
export interface TeamsAnswer {
  /** The workflow's id. */
  workflow: string;
  method: string;
  at: number;
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** One run of a workflow: what its run history shows after the trigger answered 202. */
export interface TeamsRun {
  workflow: string;
  at: number;
  status: 'Succeeded' | 'Failed';
  /** Why the run failed, as the failed action's error says. */
  error: string | null;
  /** The cards the run posted, in order. */
  cards: Array<Record<string, unknown>>;
  /** The request's body, in UTF-8 bytes. */
  bytes: number;
  headers: http.IncomingHttpHeaders;
}

interface Workflow {
  id: string;
  sig: string;
  deleted: boolean;
  enabled: boolean;
  /** When each request the trigger took came, for the throttle. */
  sent: number[];
  /** Retry-After (seconds) of the next answers, forced to be 429s. */
  forced: number[];
}

const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';
/** "The message size limit is 28 KB": counted here over the whole request body, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 28 * 1024;
/** The highest Adaptive Card version Teams renders. */
const MAX_CARD_VERSION = [1, 5];
/** Throttling: at most 4 requests a second and 60 in 30 seconds per workflow. */
const WINDOWS = [
  { limit: 4, ms: 1000 },
  { limit: 60, ms: 30_000 },
];
const ROUTE = /^\/powerautomate\/automations\/direct\/workflows\/([0-9a-f]{32})\/triggers\/manual\/paths\/invoke\/?$/;
const CARD_SCHEMA = path.join(__dirname, '../../../schemas/vendor/adaptive-card-1.5.json');

export class TeamsEmulator {
  readonly answers: TeamsAnswer[] = [];
  readonly runs: TeamsRun[] = [];
  private readonly workflows = new Map<string, Workflow>();
  private server: LocalServer | null = null;
  private base = '';

  static async start(): Promise<TeamsEmulator> {
    const emulator = new TeamsEmulator();
    emulator.server = await listenLocal((req, body, res) => emulator.handle(req, body, res));
    emulator.base = emulator.server.url;
    return emulator;
  }

  /** A new workflow's URL, as the trigger "When a Teams webhook request is received" shows it once saved. */
  createWorkflow(): string {
    const id = randomBytes(16).toString('hex');
    const sig = randomBytes(32).toString('base64url').slice(0, 43);
    this.workflows.set(id, { id, sig, deleted: false, enabled: true, sent: [], forced: [] });
    return `${this.base}/powerautomate/automations/direct/workflows/${id}/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`;
  }

  deleteWorkflow(url: string): void {
    this.workflow(url).deleted = true;
  }

  /** Turns the workflow off (false) or on again, as its owner can in the Workflows app. */
  setEnabled(url: string, enabled: boolean): void {
    this.workflow(url).enabled = enabled;
  }

  /** The next requests to this workflow are answered 429 with these Retry-After values (seconds), in order. */
  forceThrottle(url: string, ...retryAfterSeconds: number[]): void {
    this.workflow(url).forced.push(...retryAfterSeconds);
  }

  answersFor(url: string): TeamsAnswer[] {
    const { id } = this.workflow(url);
    return this.answers.filter((a) => a.workflow === id);
  }

  runsFor(url: string): TeamsRun[] {
    const { id } = this.workflow(url);
    return this.runs.filter((r) => r.workflow === id);
  }

  /** The cards posted to the channel by this workflow's runs, in order. */
  cardsFor(url: string): Array<Record<string, unknown>> {
    return this.runsFor(url).flatMap((r) => r.cards);
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private workflow(url: string): Workflow {
    const match = ROUTE.exec(new URL(url).pathname);
    const workflow = match ? this.workflows.get(match[1]!) : undefined;
    if (!workflow) throw new Error(`TeamsEmulator: ${url} is not one of its workflows`);
    return workflow;
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    const match = ROUTE.exec(url.pathname);
    const id = match?.[1] ?? '';
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const text = body === null ? '' : JSON.stringify(body);
      const all = body === null ? headers : { 'content-type': 'application/json; charset=utf-8', ...headers };
      this.answers.push({ workflow: id, method: req.method ?? '', at: Date.now(), status, body: text, headers: all });
      res.writeHead(status, all);
      res.end(text);
    };
    const error = (status: number, code: string, message: string, headers: Record<string, string> = {}): void => answer(status, { error: { code, message } }, headers);

    const workflow = this.workflows.get(id);
    if (!match || !workflow || workflow.deleted) return error(404, 'WorkflowNotFound', `The workflow '${id || url.pathname}' could not be found.`);
    const sig = url.searchParams.get('sig');
    if (sig === null) return error(401, 'DirectApiAuthorizationRequired', 'The request must be authenticated only by Shared Access scheme.');
    if (sig !== workflow.sig) return error(401, 'DirectApiInvalidAuthorizationSignature', 'The provided request has an invalid authorization signature.');
    if (req.method !== 'POST') return error(405, 'TriggerRequestMethodNotValid', `The HTTP method for this request is not valid: expected 'Post' and actual '${req.method ?? ''}'.`);
    if (!workflow.enabled) return error(409, 'WorkflowTriggerIsNotEnabled', `Could not execute workflow '${id}' trigger 'manual' with state 'Disabled': trigger is not enabled.`);

    const now = Date.now();
    const forced = workflow.forced.shift();
    if (forced !== undefined) return this.throttled(forced, error);
    workflow.sent = workflow.sent.filter((t) => now - t < WINDOWS[WINDOWS.length - 1]!.ms);
    for (const window of WINDOWS) {
      const inWindow = workflow.sent.filter((t) => now - t < window.ms);
      if (inWindow.length >= window.limit) return this.throttled(Math.ceil((inWindow[0]! + window.ms - now) / 1000), error);
    }
    workflow.sent.push(now);

    const refusal = triggerRefusal(req.headers['content-type'], raw);
    if (refusal) return error(400, refusal.code, refusal.message);
    answer(202, null);
    // The workflow runs after the trigger answered.
    const body = JSON.parse(raw) as TriggerBody;
    void runWorkflow(body, Buffer.byteLength(raw)).then((run) => this.runs.push({ workflow: id, at: now, headers: req.headers, ...run }));
  }

  private throttled(retryAfter: number, error: (status: number, code: string, message: string, headers?: Record<string, string>) => void): void {
    const seconds = Math.max(1, retryAfter);
    error(429, 'RequestsThrottled', `Rate limit is exceeded. Try again in ${seconds} seconds.`, { 'retry-after': String(seconds) });
  }
}

interface TriggerBody {
  type?: string;
  attachments: Array<{ contentType: string; contentUrl: null; content: Record<string, unknown> }>;
}

/**
 * How the trigger refuses a request (400, Logic Apps' code and message), or null when it takes it:
 * a JSON body only; {type: "message", attachments: [...]} with each attachment an Adaptive Card
 * (contentType, contentUrl: null and a content object, all required).
 */
export function triggerRefusal(contentType: string | undefined, raw: string): { code: string; message: string } | null {
  const mismatch = (details: string): { code: string; message: string } => ({
    code: 'TriggerInputSchemaMismatch',
    message: `The input body for trigger 'manual' of type 'Request' did not match its schema definition. Error details: '${details}'.`,
  });
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? '')) return mismatch(`Invalid type. Expected Object but got String.`);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { code: 'InvalidRequestContent', message: 'The request content is not valid and could not be deserialized as JSON.' };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return mismatch(`Invalid type. Expected Object but got ${jsonType(body)}.`);
  const message = body as Record<string, unknown>;
  if (message['type'] !== undefined && message['type'] !== 'message') return mismatch(`Value "${String(message['type'])}" is not defined in enum.`);
  if (!('attachments' in message)) return mismatch('Required properties are missing from object: attachments.');
  if (!Array.isArray(message['attachments'])) return mismatch(`Invalid type. Expected Array but got ${jsonType(message['attachments'])}.`);
  for (const item of message['attachments'] as unknown[]) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return mismatch(`Invalid type. Expected Object but got ${jsonType(item)}.`);
    const attachment = item as Record<string, unknown>;
    const missing = ['contentType', 'contentUrl', 'content'].filter((k) => !(k in attachment));
    if (missing.length > 0) return mismatch(`Required properties are missing from object: ${missing.join(', ')}.`);
    if (attachment['contentType'] !== ADAPTIVE_CARD) return mismatch(`Value "${String(attachment['contentType'])}" is not defined in enum.`);
    if (attachment['contentUrl'] !== null) return mismatch(`Invalid type. Expected Null but got ${jsonType(attachment['contentUrl'])}.`);
    const content = attachment['content'];
    if (content === null || typeof content !== 'object' || Array.isArray(content)) return mismatch(`Invalid type. Expected Object but got ${jsonType(content)}.`);
  }
  return null;
}

/**
 * The run of "Send webhook alerts to a channel": each attachment's card is posted, until one fails.
 * A message over 28 KB fails the posting ("Request Entity too large"); a card Teams cannot render
 * (not an AdaptiveCard, a version above 1.5, or not valid against the 1.5 schema) fails it too.
 */
export async function runWorkflow(body: TriggerBody, bytes: number): Promise<Pick<TeamsRun, 'status' | 'error' | 'cards' | 'bytes'>> {
  const cards: Array<Record<string, unknown>> = [];
  const failed = (error: string): Pick<TeamsRun, 'status' | 'error' | 'cards' | 'bytes'> => ({ status: 'Failed', error, cards, bytes });
  if (bytes > MAX_MESSAGE_BYTES) return failed(`RequestEntityTooLarge: Request Entity too large (${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}).`);
  for (const { content } of body.attachments) {
    const problem = await cardProblem(content);
    if (problem) return failed(`The specified Teams flowbot adaptive card request is missing or invalid: ${problem}`);
    cards.push(content);
  }
  return { status: 'Succeeded', error: null, cards, bytes };
}

async function cardProblem(card: Record<string, unknown>): Promise<string | null> {
  if (card['type'] !== 'AdaptiveCard') return "Property 'type' must be 'AdaptiveCard'";
  const version = typeof card['version'] === 'string' ? card['version'].split('.').map(Number) : [];
  const [major = NaN, minor = 0] = version;
  if (!Number.isInteger(major) || major > MAX_CARD_VERSION[0]! || (major === MAX_CARD_VERSION[0] && minor > MAX_CARD_VERSION[1]!)) {
    return `version ${String(card['version'])} is not one Teams renders (1.5 at most)`;
  }
  const problems = await bodySchemaProblems(CARD_SCHEMA, { file: path.basename(CARD_SCHEMA) }, card);
  return problems.length > 0 ? `not a valid Adaptive Card 1.5: ${problems.join('; ')}` : null;
}

function jsonType(value: unknown): string {
  if (value === null) return 'Null';
  if (Array.isArray(value)) return 'Array';
  const type = typeof value;
  return type === 'string' ? 'String' : type === 'number' ? (Number.isInteger(value) ? 'Integer' : 'Float') : type === 'boolean' ? 'Boolean' : 'Object';
}
