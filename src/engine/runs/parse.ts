/**
 * Reading training logs: JSONL (one object per line), CSV (header row) and a Hugging Face / TRL
 * `trainer_state.json` (its `log_history`). The format is detected from the content, never the name.
 */
import { parseCsvRecords } from './csv.ts';
import { errorText, isJsonObject, parseJsonLenient } from './json.ts';
import { withAppKeyNames } from './keys.ts';
import { RunParseError, type RunFormat, type RunLog, type RunPoint, type RunSource, type RunTextPoint } from './types.ts';

/** Column / field names that carry the training step, in order of preference. */
export const STEP_KEYS = ['step', 'global_step', 'train/global_step', '_step'] as const;

const NONE = 'not JSONL, CSV or trainer_state.json';
const STEP_HINT = `expected a numeric ${STEP_KEYS.slice(0, 2)
  .map((k) => `"${k}"`)
  .join(' or ')}`;

/** One log row before normalisation, with where it was found ("line 4", "log_history[3]"). */
interface Row {
  where: string;
  fields: Record<string, unknown>;
}

/** What the caller knows about a run besides its text. */
export interface RunMeta {
  id?: string;
  label?: string;
  source?: Omit<RunSource, 'format' | 'file'>;
}

/** Returns the non-blank lines of `text` with 1-based line numbers. */
function lines(text: string): { n: number; s: string }[] {
  return text
    .split(/\r?\n/)
    .map((s, i) => ({ n: i + 1, s }))
    .filter((l) => l.s.trim() !== '');
}

function stepOf(fields: Record<string, unknown>): number | undefined {
  for (const k of STEP_KEYS) {
    const v = fields[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

function upsert<T extends { step: number }>(list: T[], point: T): void {
  // Logs arrive in step order almost always; a repeated step (a resumed run) replaces the earlier value.
  const last = list[list.length - 1];
  if (!last || last.step < point.step) list.push(point);
  else {
    const i = list.findIndex((p) => p.step >= point.step);
    if (list[i].step === point.step) list[i] = point;
    else list.splice(i, 0, point);
  }
}

/** Returns the run made of `rows`; each row needs a step, numbers become series and strings text. */
function rowsToRun(rows: Row[], file: string, format: RunFormat, meta: RunMeta): RunLog {
  const series: Record<string, RunPoint[]> = {};
  const text: Record<string, RunTextPoint[]> = {};
  for (const { where, fields } of rows) {
    const step = stepOf(fields);
    if (step === undefined) throw new RunParseError(code(format), file, `${where} has no step (${STEP_HINT})`);
    for (const [key, v] of Object.entries(fields)) {
      if ((STEP_KEYS as readonly string[]).includes(key)) continue;
      if (typeof v === 'number' && Number.isFinite(v)) upsert((series[key] ??= []), { step, value: v });
      else if (typeof v === 'string') upsert((text[key] ??= []), { step, value: v });
    }
  }
  if (Object.keys(series).length === 0) {
    throw new RunParseError('run-no-metrics', file, `no numeric metrics besides the step in ${rows.length} ${format} row(s)`);
  }
  // The Trainer's eval_* keys are read as this app's eval/* names (the original stays in loggedAs).
  return withAppKeyNames({
    id: meta.id ?? runIdFromFile(file),
    label: meta.label ?? file,
    source: { kind: 'import', ...meta.source, format, file },
    series,
    text,
  });
}

function code(format: RunFormat): 'run-jsonl' | 'run-csv' | 'run-trainer-state' {
  return format === 'jsonl' ? 'run-jsonl' : format === 'csv' ? 'run-csv' : 'run-trainer-state';
}

function jsonlRows(text: string, file: string): Row[] {
  return lines(text).map(({ n, s }) => {
    let v: unknown;
    try {
      v = parseJsonLenient(s);
    } catch (e) {
      throw new RunParseError('run-jsonl', file, `${NONE} — line ${n} is not JSON (${errorText(e)})`);
    }
    if (!isJsonObject(v)) throw new RunParseError('run-jsonl', file, `${NONE} — line ${n} is not a JSON object`);
    return { where: `line ${n}`, fields: v };
  });
}

function trainerStateRows(state: Record<string, unknown>, file: string): Row[] {
  const history = state.log_history;
  if (!Array.isArray(history))
    throw new RunParseError('run-trainer-state', file, 'log_history is not a list (a trainer_state.json keeps its logs there)');
  if (history.length === 0) throw new RunParseError('run-trainer-state', file, 'log_history is empty: nothing was logged');
  return history.map((entry, i) => {
    if (!isJsonObject(entry)) throw new RunParseError('run-trainer-state', file, `log_history[${i}] is not an object`);
    return { where: `log_history[${i}]`, fields: entry };
  });
}

function csvDelimiter(header: string): string {
  return !header.includes(',') && header.includes('\t') ? '\t' : ',';
}

/** Returns the step column's index in a CSV header, or -1. */
function csvStepColumn(header: string[]): number {
  const lower = header.map((h) => h.trim().toLowerCase());
  for (const k of STEP_KEYS) {
    const i = lower.indexOf(k);
    if (i >= 0) return i;
  }
  return -1;
}

const MISSING = new Set(['', 'nan', 'inf', '-inf', 'infinity', '-infinity', 'null', 'none']);

function csvRows(text: string, file: string): Row[] {
  let records;
  try {
    records = parseCsvRecords(text, csvDelimiter(lines(text)[0].s));
  } catch (e) {
    throw new RunParseError('run-csv', file, `CSV ${errorText(e)}`);
  }
  const [head, ...body] = records;
  const header = head.fields.map((h) => h.trim());
  const stepCol = csvStepColumn(header);
  if (body.length === 0) throw new RunParseError('run-csv', file, 'CSV has a header but no rows');
  // A column is numeric when every non-missing cell is a number; otherwise it is text (e.g. captions).
  const numeric = header.map((_, c) =>
    body.every((r) => {
      const v = (r.fields[c] ?? '').trim();
      return MISSING.has(v.toLowerCase()) || Number.isFinite(Number(v));
    }),
  );
  return body.map(({ line, fields }) => {
    if (fields.length !== header.length) {
      throw new RunParseError('run-csv', file, `CSV line ${line} has ${fields.length} fields, the header has ${header.length}`);
    }
    const stepText = fields[stepCol].trim();
    if (!Number.isFinite(Number(stepText)) || stepText === '') {
      throw new RunParseError('run-csv', file, `CSV line ${line}: step "${stepText}" is not a number`);
    }
    const row: Record<string, unknown> = { step: Number(stepText) };
    header.forEach((h, c) => {
      if (c === stepCol) return;
      const v = fields[c].trim();
      if (!numeric[c]) {
        if (v !== '') row[h] = fields[c];
      } else if (!MISSING.has(v.toLowerCase())) row[h] = Number(v);
    });
    return { where: `line ${line}`, fields: row };
  });
}

/** A file recognised as one of the formats, before its rows are read. */
interface Detected {
  format: RunFormat;
  rows: () => Row[];
}

function detect(text: string, file: string): Detected {
  const body = text.replace(/^\uFEFF/, '');
  const nonBlank = lines(body);
  if (nonBlank.length === 0) throw new RunParseError('run-empty', file, 'the file is empty');
  const first = nonBlank[0];
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let whole: unknown;
    let wholeError = '';
    try {
      whole = parseJsonLenient(body);
    } catch (e) {
      wholeError = errorText(e);
    }
    if (!wholeError) {
      if (isJsonObject(whole) && 'log_history' in whole) return { format: 'trainer_state', rows: () => trainerStateRows(whole, file) };
      if (isJsonObject(whole) && nonBlank.length === 1) return { format: 'jsonl', rows: () => jsonlRows(body, file) };
      const what = Array.isArray(whole) ? 'a JSON array' : 'a JSON object without a log_history list';
      throw new RunParseError('run-unrecognized', file, `${NONE} — the file is ${what} (JSONL needs one object per line)`);
    }
    let firstObject: boolean;
    try {
      firstObject = isJsonObject(parseJsonLenient(first.s));
    } catch {
      firstObject = false;
    }
    if (firstObject) return { format: 'jsonl', rows: () => jsonlRows(body, file) };
    throw new RunParseError(
      'run-unrecognized',
      file,
      `${NONE} — not valid JSON (${wholeError}), and line ${first.n} alone is not a JSON object`,
    );
  }
  let header: string[];
  try {
    header = parseCsvRecords(first.s, csvDelimiter(first.s))[0]?.fields ?? [];
  } catch {
    header = [];
  }
  if (header.length >= 2 && csvStepColumn(header) >= 0) return { format: 'csv', rows: () => csvRows(body, file) };
  throw new RunParseError(
    'run-unrecognized',
    file,
    `${NONE} — line ${first.n} is not JSON, and not a CSV header with a step column (${STEP_KEYS.join(', ')})`,
  );
}

/** Returns the format of a run log's text (throws RunParseError naming `file` when it is none of them). */
export function detectRunFormat(text: string, file: string): RunFormat {
  return detect(text, file).format;
}

/** Returns the normalised run of a JSONL / CSV / trainer_state.json text; throws RunParseError naming `file`. */
export function parseRunLog(text: string, file: string, meta: RunMeta = {}): RunLog {
  const found = detect(text, file);
  return rowsToRun(found.rows(), file, found.format, meta);
}

/** Returns an id made from a file name: lowercase, extension dropped, runs of other chars as '-'. */
export function runIdFromFile(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const stem = base.replace(/\.(jsonl|json|csv|tsv|txt|log)$/i, '');
  return (
    stem
      .toLowerCase()
      .replace(/[^a-z0-9._]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'run'
  );
}

/** Returns `id`, or `id-2`, `id-3`, … — the first not in `taken`. */
export function uniqueRunId(id: string, taken: ReadonlySet<string>): string {
  if (!taken.has(id)) return id;
  let n = 2;
  while (taken.has(`${id}-${n}`)) n++;
  return `${id}-${n}`;
}
