/** Training-run logs: parsing (JSONL, CSV, trainer_state.json), chart key mapping, replay. Pure, no DOM. */
export * from './types.ts';
export { parseRunLog, detectRunFormat, runIdFromFile, uniqueRunId, STEP_KEYS, type RunMeta } from './parse.ts';
export { parseCsvRecords, formatCsv, type CsvRecord } from './csv.ts';
export { parseJsonLenient } from './json.ts';
export * from './keys.ts';
export * from './replay.ts';
export { asRunLog } from './stored.ts';
