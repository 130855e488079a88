import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  asRunLog,
  detectRunFormat,
  formatCsv,
  parseCsvRecords,
  parseRunLog,
  RunParseError,
  runIdFromFile,
  uniqueRunId,
  type RunErrorCode,
} from '../../src/engine/runs/index.ts';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'runs');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');

/** Points of `key` read straight from the raw rows (the independent reference). */
function expected(rows: Record<string, unknown>[], key: string) {
  return rows.filter((r) => typeof r[key] === 'number').map((r) => ({ step: r.step as number, value: r[key] as number }));
}

describe('trainer_state.json (TRL log_history)', () => {
  const text = read('trainer_state.json');
  const history = (JSON.parse(text) as { log_history: Record<string, unknown>[] }).log_history;
  const run = parseRunLog(text, 'trainer_state.json');

  it('is detected from content and keeps train and eval rows apart by key', () => {
    expect(detectRunFormat(text, 'whatever.txt')).toBe('trainer_state');
    expect(run.source.format).toBe('trainer_state');
    for (const key of ['completions/mean_length', 'reward', 'reward_std', 'kl', 'clip_ratio/region_mean', 'train_runtime']) {
      expect(run.series[key], key).toEqual(expected(history, key));
    }
    // The Trainer's eval_* keys are read as eval/*, each remembered as logged.
    for (const key of ['eval_reward', 'eval_loss', 'eval_completions/mean_length', 'eval_runtime']) {
      const name = `eval/${key.slice(5)}`;
      expect(run.series[name], key).toEqual(expected(history, key));
      expect(run.series[key], key).toBeUndefined();
      expect(run.loggedAs?.[name]).toBe(key);
    }
    // Train rows every step, eval rows every 10 steps, the summary row once.
    expect(run.series['completions/mean_length']).toHaveLength(40);
    expect(run.series['eval/reward'].map((p) => p.step)).toEqual([10, 20, 30, 40]);
    expect(run.series.train_runtime).toEqual([{ step: 40, value: 1523.8 }]);
    expect(run.series.step).toBeUndefined();
  });

  it('keeps an eval_* key as logged when the run also logs its eval/* name', () => {
    const r = parseRunLog('{"step": 1, "eval_sim": 0.5, "eval/sim": 0.7, "eval_note": "a red circle"}\n', 'both.jsonl');
    expect(r.series['eval/sim']).toEqual([{ step: 1, value: 0.7 }]);
    expect(r.series.eval_sim).toEqual([{ step: 1, value: 0.5 }]);
    expect(r.text['eval/note']).toEqual([{ step: 1, value: 'a red circle' }]);
    expect(r.loggedAs).toEqual({ 'eval/note': 'eval_note' });
    expect(parseRunLog('{"step": 1, "reward": 1}\n', 'plain.jsonl').loggedAs).toBeUndefined();
  });

  it('takes the step from global_step when there is no step', () => {
    const r = parseRunLog(
      JSON.stringify({
        log_history: [
          { global_step: 5, loss: 1 },
          { global_step: 6, loss: 0.5 },
        ],
      }),
      's.json',
    );
    expect(r.series.loss).toEqual([
      { step: 5, value: 1 },
      { step: 6, value: 0.5 },
    ]);
    expect(r.series.global_step).toBeUndefined();
  });

  it('reads the NaN / Infinity Python writes as gaps, leaving strings alone', () => {
    const t =
      '{"log_history": [{"step": 1, "grad_norm": NaN, "loss": 1.0, "note": "NaN here"}, {"step": 2, "grad_norm": -Infinity, "loss": 0.9}, {"step": 3, "grad_norm": 0.5, "loss": 0.8}]}';
    const r = parseRunLog(t, 'nan.json');
    expect(r.series.grad_norm).toEqual([{ step: 3, value: 0.5 }]);
    expect(r.series.loss.map((p) => p.value)).toEqual([1, 0.9, 0.8]);
    expect(r.text.note).toEqual([{ step: 1, value: 'NaN here' }]);
  });
});

describe('JSONL', () => {
  const text = read('run.jsonl');
  const rows = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const run = parseRunLog(text, 'run.jsonl', {
    id: 'stage2',
    label: 'Stage 2',
    source: { kind: 'bundle', bundle: 'uae-tiny', stage: '2' },
  });

  it('reads one object per line, skipping blank lines, with eval rows every few steps', () => {
    expect(detectRunFormat(text, 'run.jsonl')).toBe('jsonl');
    for (const key of ['reward', 'kl', 'eval/sim', 'eval/attr_recall', 'eval/retrieval_top1', 'elapsed_s']) {
      expect(run.series[key], key).toEqual(expected(rows, key));
    }
    expect(run.series.reward).toHaveLength(20);
    expect(run.series['eval/sim'].map((p) => p.step)).toEqual([5, 10, 15, 20]);
  });

  it('keeps string metrics as text series (the sample caption)', () => {
    const captions = rows.filter((r) => typeof r['eval/sample_caption'] === 'string');
    expect(run.text['eval/sample_caption']).toEqual(captions.map((r) => ({ step: r.step, value: r['eval/sample_caption'] })));
    expect(run.series['eval/sample_caption']).toBeUndefined();
  });

  it('carries the caller’s id, label and source', () => {
    expect(run.id).toBe('stage2');
    expect(run.label).toBe('Stage 2');
    expect(run.source).toEqual({ kind: 'bundle', bundle: 'uae-tiny', stage: '2', format: 'jsonl', file: 'run.jsonl' });
  });

  it('sorts by step and lets a repeated step (a resumed run) replace the earlier value', () => {
    const r = parseRunLog(
      '{"step": 3, "loss": 3}\n{"step": 1, "loss": 1}\n{"step": 2, "loss": 2}\n{"step": 2, "loss": 2.5}\n',
      'resumed.jsonl',
    );
    expect(r.series.loss).toEqual([
      { step: 1, value: 1 },
      { step: 2, value: 2.5 },
      { step: 3, value: 3 },
    ]);
  });

  it('reads a one-line file as JSONL', () => {
    const r = parseRunLog('{"step": 7, "reward": 0.5}', 'one.jsonl');
    expect(r.source.format).toBe('jsonl');
    expect(r.series.reward).toEqual([{ step: 7, value: 0.5 }]);
  });
});

describe('CSV', () => {
  const text = read('run.csv');
  const run = parseRunLog(text, 'run.csv');

  it('reads the header and numeric columns, with empty cells as gaps', () => {
    expect(detectRunFormat(text, 'run.csv')).toBe('csv');
    expect(run.series.reward).toHaveLength(12);
    expect(run.series.reward[0]).toEqual({ step: 1, value: 0.61667 });
    expect(run.series.kl.map((p) => p.step)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(run.series['completions/mean_length'].at(-1)).toEqual({ step: 12, value: 30 });
  });

  it('keeps a column with words as text, quoted commas included', () => {
    expect(run.text['eval/sample_caption']).toEqual([
      { step: 4, value: 'a red circle, 4 shapes' },
      { step: 8, value: 'a red circle, 8 shapes' },
      { step: 12, value: 'a red circle, 12 shapes' },
    ]);
  });

  it('accepts tab-separated files and other step column names', () => {
    const r = parseRunLog('Global_Step\tloss\n10\t0.5\n20\tnan\n30\t0.25\n', 'w.tsv');
    expect(r.series.loss).toEqual([
      { step: 10, value: 0.5 },
      { step: 30, value: 0.25 },
    ]);
  });

  it('round-trips through formatCsv (quotes, commas, newlines)', () => {
    const rows = [
      ['step', 'caption', 'x'],
      ['1', 'a "big" one, red', '0.5'],
      ['2', 'two\nlines', ''],
    ];
    expect(parseCsvRecords(formatCsv(rows)).map((r) => r.fields)).toEqual(rows);
    expect(formatCsv([[1, null, Number.NaN, 'a']])).toBe('1,,,a\n');
  });
});

/** Each bad fixture: the error code, and text its message must contain after "<file>: ". */
const BAD: Record<string, { code: RunErrorCode; says: RegExp }> = {
  'notes.txt': { code: 'run-unrecognized', says: /^not JSONL, CSV or trainer_state\.json — line 1 is not JSON/ },
  'broken-line.jsonl': { code: 'run-jsonl', says: /^not JSONL, CSV or trainer_state\.json — line 3 is not JSON \(.+\)$/ },
  'not-object.jsonl': { code: 'run-jsonl', says: /line 2 is not a JSON object/ },
  'no-step.jsonl': { code: 'run-jsonl', says: /line 2 has no step \(expected a numeric "step" or "global_step"\)/ },
  'ragged.csv': { code: 'run-csv', says: /^CSV line 3 has 2 fields, the header has 3$/ },
  'bad-step.csv': { code: 'run-csv', says: /^CSV line 3: step "abc" is not a number$/ },
  'no-step-column.csv': { code: 'run-unrecognized', says: /not a CSV header with a step column/ },
  'unclosed-quote.csv': { code: 'run-csv', says: /line 3: a quoted field is never closed/ },
  'log-history-not-list.json': { code: 'run-trainer-state', says: /^log_history is not a list/ },
  'entry-not-object.json': { code: 'run-trainer-state', says: /^log_history\[1\] is not an object$/ },
  'empty-log-history.json': { code: 'run-trainer-state', says: /^log_history is empty/ },
  'config.json': { code: 'run-unrecognized', says: /a JSON object without a log_history list/ },
  'truncated-trainer_state.json': { code: 'run-unrecognized', says: /not valid JSON \(.+\), and line 1 alone is not a JSON object/ },
  'empty.jsonl': { code: 'run-empty', says: /^the file is empty$/ },
  'only-step.jsonl': { code: 'run-no-metrics', says: /^no numeric metrics besides the step/ },
};

describe('files that are not run logs', () => {
  it('every bad fixture has an expected error', () => {
    expect(readdirSync(join(DIR, 'bad')).sort()).toEqual(Object.keys(BAD).sort());
  });

  for (const [name, { code, says }] of Object.entries(BAD)) {
    it(`${name}: ${code}, naming the file and the problem`, () => {
      let error: unknown;
      try {
        parseRunLog(read(join('bad', name)), name);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RunParseError);
      const e = error as RunParseError;
      expect(e.code).toBe(code);
      expect(e.file).toBe(name);
      expect(e.message.startsWith(`${name}: `)).toBe(true);
      expect(e.message.slice(name.length + 2)).toMatch(says);
    });
  }
});

describe('ids and stored runs', () => {
  it('makes ids from file names and keeps them unique', () => {
    expect(runIdFromFile('logs/My Run (2).JSONL')).toBe('my-run-2');
    expect(runIdFromFile('trainer_state.json')).toBe('trainer_state');
    expect(uniqueRunId('a', new Set(['a', 'a-2']))).toBe('a-3');
    expect(uniqueRunId('b', new Set(['a']))).toBe('b');
  });

  it('accepts a parsed run back from storage and rejects damaged ones', () => {
    const run = parseRunLog(read('run.jsonl'), 'run.jsonl');
    expect(asRunLog(structuredClone(run))).toEqual(run);
    expect(asRunLog({ ...run, series: { reward: [{ step: 1, value: 'x' }] } })).toBeNull();
    expect(asRunLog({ ...run, source: { ...run.source, format: 'xml' } })).toBeNull();
    expect(asRunLog({ ...run, id: '' })).toBeNull();
    expect(asRunLog(null)).toBeNull();
    expect(asRunLog({ ...run, loggedAs: { 'eval/sim': 3 } })).toBeNull();
  });

  it('renames the eval_* keys of a run stored before they were read as eval/*', () => {
    const old = {
      id: 'old',
      label: 'old',
      source: { kind: 'import', format: 'trainer_state', file: 's.json' },
      series: { reward: [{ step: 1, value: 1 }], eval_reward: [{ step: 1, value: 2 }] },
      text: {},
    };
    const back = asRunLog(old)!;
    expect(back.series).toEqual({ reward: [{ step: 1, value: 1 }], 'eval/reward': [{ step: 1, value: 2 }] });
    expect(back.loggedAs).toEqual({ 'eval/reward': 'eval_reward' });
    expect(asRunLog(structuredClone(back))).toEqual(back);
  });
});

describe('a real TRL GRPOTrainer trainer_state.json (eval_* metrics, other reward functions)', () => {
  const text = read('trl-grpo-trainer_state.json');
  const history = (JSON.parse(text) as { log_history: Record<string, unknown>[] }).log_history;
  const run = parseRunLog(text, 'trl-grpo-trainer_state.json');
  const evalKeys = [...new Set(history.flatMap((r) => Object.keys(r)).filter((k) => k.startsWith('eval_')))];

  it('reads every eval_* key as eval/*, with the same points, the original kept in loggedAs', () => {
    expect(evalKeys).toContain('eval_rewards/correctness/mean');
    for (const key of evalKeys) {
      const name = `eval/${key.slice('eval_'.length)}`;
      expect(run.series[name], key).toEqual(expected(history, key));
      expect(run.loggedAs?.[name], key).toBe(key);
    }
    expect(Object.keys(run.series).filter((k) => k.startsWith('eval_'))).toEqual([]);
    expect(run.series['eval/reward'].map((p) => p.step)).toEqual([25, 50, 75, 100]);
    // Train keys are untouched.
    expect(run.series.reward).toEqual(expected(history, 'reward'));
    expect(run.series['rewards/correctness/mean']).toEqual(expected(history, 'rewards/correctness/mean'));
  });
});
