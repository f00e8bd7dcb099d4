import { OAuthApiEmulator, parseObject } from './oauth-api';
import type { ApiRequest, AuthFailure, EmulatorOptions, IntrospectionConfig, Reply } from './oauth-api';

/**
 * A local emulator of the Google Sheets API v4, following Google's documentation; Bearer tokens
 * come from the local OAuth server (introspection), as Google's token endpoint is replaced by it:
 *
 * - values.append, https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/append:
 *   POST /v4/spreadsheets/{spreadsheetId}/values/{range}:append; `valueInputOption` is required
 *   (RAW or USER_ENTERED); `insertDataOption` OVERWRITE (default) or INSERT_ROWS; the range is
 *   searched for a table and the values go to the row after its last row, from the table's first
 *   column (the range's start when it holds no data); the body is a ValueRange
 *   (https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values#ValueRange),
 *   `values` an array of rows. The answer is an AppendValuesResponse: spreadsheetId, tableRange
 *   (absent when no table was found) and `updates` (UpdateValuesResponse: spreadsheetId,
 *   updatedRange, updatedRows, updatedColumns, updatedCells).
 * - values.get, https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/get:
 *   GET .../values/{range}: {range, majorDimension: "ROWS", values}, `values` left out when the
 *   range is empty; trailing empty rows and columns are left out.
 * - values.update, https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets.values/update:
 *   PUT .../values/{range}?valueInputOption=..., writes the rows from the range's top-left cell
 *   over what is there; UpdateValuesResponse.
 * - spreadsheets.get, https://developers.google.com/workspace/sheets/api/reference/rest/v4/spreadsheets/get:
 *   GET /v4/spreadsheets/{spreadsheetId}: spreadsheetId, properties.title, sheets[].properties
 *   {sheetId, title, index}.
 * - A1 notation, https://developers.google.com/workspace/sheets/api/guides/concepts#cell:
 *   `Sheet1!A1:B2`, `Sheet1!1:1` (a whole row), `Sheet1!A2:H` (open-ended), `Sheet1` (the whole
 *   sheet), `'My Sheet'!A1` (a name with spaces or punctuation is quoted, a ' in it doubled); a
 *   range without a sheet name means the first sheet. Ranges in answers quote a name only when it
 *   needs it. A sheet the spreadsheet lacks: 400 INVALID_ARGUMENT "Unable to parse range: ...".
 * - Errors, https://cloud.google.com/apis/design/errors (AIP-193, as Google's APIs answer):
 *   {"error": {"code", "message", "status"}}; 401 UNAUTHENTICATED for a missing, invalid or
 *   expired token; 403 PERMISSION_DENIED for a spreadsheet not shared with the token's user
 *   ("The caller does not have permission"); 404 NOT_FOUND for an unknown spreadsheet; 400
 *   INVALID_ARGUMENT for a missing valueInputOption or a bad range or body.
 * - Quotas, https://developers.google.com/workspace/sheets/api/limits: 60 write requests and 60
 *   read requests per minute per user per project (300 per project), refilled every minute;
 *   beyond: 429 RESOURCE_EXHAUSTED ("Quota exceeded for quota metric 'Write requests' and limit
 *   'Write requests per minute per user' ..."). The per-user limits are settable here so a test
 *   can reach them.
 * - OAuth, https://developers.google.com/identity/protocols/oauth2/web-server: the connector asks
 *   for access_type=offline and prompt=consent so a refresh token is issued; access tokens last
 *   3600 s (expires_in); refresh tokens are not rotated. The test OAuth server plays Google's
 *   authorization and token endpoints.
 */
type Row = string[];

interface Spreadsheet {
  id: string;
  title: string;
  /** Tabs by title, in order; each a grid of rows. */
  sheets: Map<string, Row[]>;
  /** The OAuth subjects (users) it is shared with as editors. */
  editors: Set<string>;
}

/** A parsed A1 range: sheet, first row and column (0-based), last row and column (null: open). */
interface A1 {
  sheet: string;
  startRow: number;
  startCol: number;
  endRow: number | null;
  endCol: number | null;
}

export interface GoogleSheetsOptions extends EmulatorOptions {
  /** Write requests per minute per user; default 60. */
  writesPerMinute?: number;
  /** Read requests per minute per user; default 60. */
  readsPerMinute?: number;
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function googleError(code: number, message: string): Reply {
  return { status: code, body: { error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' } } };
}

export class GoogleSheetsEmulator extends OAuthApiEmulator {
  private readonly spreadsheets = new Map<string, Spreadsheet>();
  /** Request times per user and kind, for the per-minute quotas. */
  private readonly usage = new Map<string, number[]>();
  writesPerMinute: number;
  readsPerMinute: number;

  private constructor(oauth: IntrospectionConfig, options: GoogleSheetsOptions) {
    super(oauth, options);
    this.writesPerMinute = options.writesPerMinute ?? 60;
    this.readsPerMinute = options.readsPerMinute ?? 60;
  }

  static async start(oauth: IntrospectionConfig, options: GoogleSheetsOptions = {}): Promise<GoogleSheetsEmulator> {
    const emulator = new GoogleSheetsEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  /** A spreadsheet with these tabs (default one, "Sheet1"), shared with these users (OAuth subjects) as editors. */
  addSpreadsheet(id: string, options: { sheets?: string[]; editors?: string[]; title?: string } = {}): void {
    const sheets = new Map<string, Row[]>((options.sheets ?? ['Sheet1']).map((title) => [title, []]));
    this.spreadsheets.set(id, { id, title: options.title ?? `Spreadsheet ${id}`, sheets, editors: new Set(options.editors ?? []) });
  }

  /** A tab's rows as they are now (a copy). */
  rows(spreadsheetId: string, sheet: string): Row[] {
    return (this.spreadsheets.get(spreadsheetId)?.sheets.get(sheet) ?? []).map((row) => [...row]);
  }

  /** Writes cells as a person would in the browser. */
  setRow(spreadsheetId: string, sheet: string, index: number, row: Row): void {
    const grid = this.spreadsheets.get(spreadsheetId)?.sheets.get(sheet);
    if (!grid) throw new Error(`no sheet ${sheet} in ${spreadsheetId}`);
    while (grid.length <= index) grid.push([]);
    grid[index] = [...row];
  }

  /** Appends (values.append) that reached a spreadsheet and were answered 200. */
  appends(spreadsheetId: string): number {
    return this.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/v4/spreadsheets/${spreadsheetId}/values/`) && r.path.endsWith(':append') && r.status === 200).length;
  }

  protected unauthorized(_reason: AuthFailure): Reply {
    const reply = googleError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
    return { ...reply, headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' } };
  }

  protected failureBody(status: number): unknown {
    return googleError(status, status === 429 ? 'Quota exceeded.' : 'The service is currently unavailable.').body;
  }

  /** The per-minute quotas of the token's user, counted per kind of request. */
  protected override admit(req: ApiRequest): Reply | undefined {
    const write = req.method !== 'GET';
    const key = `${req.token.sub}:${write ? 'write' : 'read'}`;
    const now = Date.now();
    const recent = (this.usage.get(key) ?? []).filter((t) => now - t < 60_000);
    const limit = write ? this.writesPerMinute : this.readsPerMinute;
    if (recent.length >= limit) {
      const metric = write ? 'Write requests' : 'Read requests';
      return googleError(429, `Quota exceeded for quota metric '${metric}' and limit '${metric} per minute per user' of service 'sheets.googleapis.com' for consumer 'project_number:000000000000'.`);
    }
    recent.push(now);
    this.usage.set(key, recent);
    return undefined;
  }

  protected route(req: ApiRequest): Reply {
    const match = /^\/v4\/spreadsheets\/([^/]+)(?:\/values\/([^/]+))?$/.exec(req.path);
    if (!match?.[1]) return googleError(404, `Method not found: ${req.method} ${req.path}`);
    const spreadsheet = this.spreadsheets.get(decodeURIComponent(match[1]));
    if (!spreadsheet) return googleError(404, 'Requested entity was not found.');
    if (!spreadsheet.editors.has(req.token.sub)) return googleError(403, 'The caller does not have permission');
    if (match[2] === undefined) {
      if (req.method !== 'GET') return googleError(404, `Method not found: ${req.method} ${req.path}`);
      const sheets = [...spreadsheet.sheets.keys()].map((title, index) => ({ properties: { sheetId: index, title, index } }));
      return { status: 200, body: { spreadsheetId: spreadsheet.id, properties: { title: spreadsheet.title }, sheets } };
    }
    const raw = decodeURIComponent(match[2]);
    const append = raw.endsWith(':append');
    const range = parseA1(append ? raw.slice(0, -':append'.length) : raw, [...spreadsheet.sheets.keys()]);
    if (!range) return googleError(400, `Unable to parse range: ${append ? raw.slice(0, -':append'.length) : raw}`);
    const grid = spreadsheet.sheets.get(range.sheet) as Row[];
    if (req.method === 'GET' && !append) return { status: 200, body: read(grid, range) };
    const option = req.query.get('valueInputOption');
    if (option === null) return googleError(400, "'valueInputOption' is required but not specified");
    if (option !== 'RAW' && option !== 'USER_ENTERED') return googleError(400, `Invalid value at 'value_input_option' (type.googleapis.com/google.apps.sheets.v4.ValueInputOption), "${option}"`);
    const values = bodyValues(req.rawBody);
    if (typeof values === 'string') return googleError(400, values);
    if (req.method === 'PUT' && !append) return { status: 200, body: { spreadsheetId: spreadsheet.id, ...write(grid, range.sheet, range.startRow, range.startCol, values) } };
    if (req.method === 'POST' && append) {
      const insert = req.query.get('insertDataOption') ?? 'OVERWRITE';
      if (insert !== 'OVERWRITE' && insert !== 'INSERT_ROWS') return googleError(400, `Invalid value at 'insert_data_option', "${insert}"`);
      // The table is searched from the range's first cell on, down and right (a one-cell range such as A2 included).
      const table = findTable(grid, { ...range, endRow: null, endCol: null });
      const startRow = table ? table.lastRow + 1 : range.startRow;
      const startCol = table ? table.firstCol : range.startCol;
      if (insert === 'INSERT_ROWS') grid.splice(startRow, 0, ...values.map(() => [] as Row));
      const updates = { spreadsheetId: spreadsheet.id, ...write(grid, range.sheet, startRow, startCol, values) };
      const tableRange = table ? { tableRange: a1(range.sheet, table.firstRow, table.firstCol, table.lastRow, table.lastCol) } : {};
      return { status: 200, body: { spreadsheetId: spreadsheet.id, ...tableRange, updates } };
    }
    return googleError(404, `Method not found: ${req.method} ${req.path}`);
  }
}

/** The ValueRange's rows as text cells; a message when the body is not one. */
function bodyValues(raw: string): Row[] | string {
  const body = parseObject(raw);
  if (!body) return 'Invalid JSON payload received.';
  const values = body['values'];
  if (!Array.isArray(values) || !values.every((row) => Array.isArray(row))) return "Invalid JSON payload received. 'values' must be a list of rows (lists of cell values).";
  if (body['majorDimension'] !== undefined && body['majorDimension'] !== 'ROWS') return 'Only majorDimension ROWS is emulated.';
  return (values as unknown[][]).map((row) => row.map((cell) => (cell === null || cell === undefined ? '' : typeof cell === 'object' ? JSON.stringify(cell) : String(cell))));
}

/** Writes rows from (row, col) over what is there; the UpdateValuesResponse fields. */
function write(grid: Row[], sheet: string, row: number, col: number, values: Row[]): Record<string, unknown> {
  const width = Math.max(0, ...values.map((r) => r.length));
  values.forEach((cells, i) => {
    while (grid.length <= row + i) grid.push([]);
    const target = grid[row + i] as Row;
    cells.forEach((cell, j) => {
      while (target.length <= col + j) target.push('');
      target[col + j] = cell;
    });
  });
  const cells = values.reduce((sum, r) => sum + r.length, 0);
  return { updatedRange: a1(sheet, row, col, row + values.length - 1, col + Math.max(width, 1) - 1), updatedRows: values.length, updatedColumns: width, updatedCells: cells };
}

/** The data of a range, as values.get answers it: trailing empty rows and cells left out. */
function read(grid: Row[], range: A1): Record<string, unknown> {
  const lastRow = range.endRow ?? grid.length - 1;
  const rows: Row[] = [];
  for (let r = range.startRow; r <= lastRow && r < grid.length; r++) {
    const row = (grid[r] ?? []).slice(range.startCol, range.endCol === null ? undefined : range.endCol + 1);
    while (row.length > 0 && row[row.length - 1] === '') row.pop();
    rows.push(row);
  }
  while (rows.length > 0 && (rows[rows.length - 1] as Row).length === 0) rows.pop();
  const shown = a1(range.sheet, range.startRow, range.startCol, range.endRow ?? Math.max(range.startRow, grid.length - 1), range.endCol ?? 25);
  return rows.length === 0 ? { range: shown, majorDimension: 'ROWS' } : { range: shown, majorDimension: 'ROWS', values: rows };
}

/** The table in the range: from its first row holding data down to the last, and the columns it spans. */
function findTable(grid: Row[], range: A1): { firstRow: number; lastRow: number; firstCol: number; lastCol: number } | null {
  const lastRow = range.endRow ?? grid.length - 1;
  const rows: number[] = [];
  const cols: number[] = [];
  for (let r = range.startRow; r <= lastRow && r < grid.length; r++) {
    const used = (grid[r] ?? []).map((cell, c) => (cell !== '' && c >= range.startCol && (range.endCol === null || c <= range.endCol) ? c : -1)).filter((c) => c >= 0);
    if (used.length === 0) continue;
    rows.push(r);
    cols.push(...used);
  }
  if (rows.length === 0) return null;
  return { firstRow: Math.min(...rows), lastRow: Math.max(...rows), firstCol: Math.min(...cols), lastCol: Math.max(...cols) };
}

/** Parses an A1 range against the spreadsheet's sheet titles; null when it names no sheet there or cannot be read. */
export function parseA1(text: string, sheets: string[]): A1 | null {
  let sheet: string | undefined;
  let cells: string;
  const quoted = /^'((?:[^']|'')+)'(?:!(.*))?$/.exec(text);
  if (quoted?.[1] !== undefined) {
    sheet = quoted[1].replace(/''/g, "'");
    cells = quoted[2] ?? '';
  } else if (text.includes('!')) {
    const at = text.indexOf('!');
    sheet = text.slice(0, at);
    cells = text.slice(at + 1);
  } else if (sheets.includes(text)) {
    sheet = text;
    cells = '';
  } else {
    sheet = sheets[0];
    cells = text;
  }
  if (sheet === undefined || !sheets.includes(sheet)) return null;
  if (cells === '') return { sheet, startRow: 0, startCol: 0, endRow: null, endCol: null };
  const m = /^([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?$/.exec(cells);
  if (!m || (m[1] === '' && m[2] === '')) return null;
  const col = (letters: string | undefined): number | null => (letters ? [...letters].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1 : null);
  const row = (digits: string | undefined): number | null => (digits ? Number(digits) - 1 : null);
  const single = m[3] === undefined && m[4] === undefined;
  return {
    sheet,
    startRow: row(m[2]) ?? 0,
    startCol: col(m[1]) ?? 0,
    endRow: single ? row(m[2]) : row(m[4]),
    endCol: single ? col(m[1]) : col(m[3]),
  };
}

/** A range in A1 notation, the sheet name quoted when it needs it. */
export function a1(sheet: string, row1: number, col1: number, row2: number, col2: number): string {
  const name = /^[A-Za-z0-9_]+$/.test(sheet) ? sheet : `'${sheet.replace(/'/g, "''")}'`;
  const letters = (c: number): string => (c < 26 ? String.fromCharCode(65 + c) : letters(Math.floor(c / 26) - 1) + String.fromCharCode(65 + (c % 26)));
  return `${name}!${letters(col1)}${row1 + 1}:${letters(col2)}${row2 + 1}`;
}
