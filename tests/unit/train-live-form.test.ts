// "Train live" outside the worker: the form's one parser (the shipped preset by default, every invalid field refused
// with a message naming it, as the CLI's parsers), its `tl-*` URL keys, the scrubber's list with a live run, the run as
// the charts read it, the pace, and the stored zip (checked against an independent reader: Python's zipfile).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOwners, scrubberCheckpoints } from '../../app/panels/training/checkpoints.ts';
import { formatDuration, liveRunLog, pace } from '../../app/panels/training/live/progress.ts';
import { setLiveField, startLive } from '../../app/panels/training/live/actions.ts';
import { crc32, zipStored } from '../../app/lib/zip.ts';
import { useStore } from '../../app/store/store.ts';
import { parseQuery, sanitizeGroup, writeQuery } from '../../app/store/url.ts';
import { LIVE_PRESET, SHIPPED_RUN_PRESET, STAGE2_PRESET } from '../../src/engine/train/config.ts';
import { checkTrainConfig, trainConfigErrors } from '../../src/engine/train/config.ts';
import {
  DEFAULT_TRAIN_FORM,
  formOf,
  parseTrainForm,
  PYTORCH_RUN_FORM,
  SHIPPED_RUN_FORM,
  readTrainForm,
  TrainFormError,
  trainFormErrors,
  type TrainForm,
} from '../../src/engine/train/form.ts';

const bad = (patch: Partial<TrainForm>): TrainFormError => {
  try {
    parseTrainForm({ ...DEFAULT_TRAIN_FORM, ...patch });
  } catch (e) {
    if (e instanceof TrainFormError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(patch)}`);
};

describe('train live form', () => {
  it('defaults to the live preset (the PyTorch run’s but β 0.3, lr 4e-5), and a form of any config parses back to it', () => {
    expect(parseTrainForm(DEFAULT_TRAIN_FORM)).toEqual({ config: LIVE_PRESET, checkpointEvery: 10, device: 'auto' });
    expect(LIVE_PRESET).toEqual({ ...STAGE2_PRESET, beta: 0.3, lr: 4e-5 });
    expect(parseTrainForm(PYTORCH_RUN_FORM)).toEqual({ config: STAGE2_PRESET, checkpointEvery: 10, device: 'auto' });
    expect(parseTrainForm(SHIPPED_RUN_FORM)).toEqual({ config: SHIPPED_RUN_PRESET, checkpointEvery: 10, device: 'auto' });
    // the shipped-run preset is the command models/retrain.sh trains the bundles' stage 2 with (the CLI's defaults
    // being the live preset's)
    const stage2 = /STAGE2="node \.\.\/bin\/uae\.mjs train ([^"]+)"/.exec(readFileSync('models/retrain.sh', 'utf8'))?.[1] ?? '';
    const arg = (name: string): string | undefined => new RegExp(`--${name} (\\S+)`).exec(stage2)?.[1];
    expect(arg('reward')).toBe(SHIPPED_RUN_FORM.reward);
    expect(arg('length-penalty')).toBe(SHIPPED_RUN_FORM.lengthPenalty);
    expect(arg('steps')).toBe(SHIPPED_RUN_FORM.steps);
    expect(arg('eval-every')).toBe(SHIPPED_RUN_FORM.evalEvery);
    expect(arg('seed')).toBe(SHIPPED_RUN_FORM.seed);
    expect(stage2.match(/--[a-z-]+/g)).toEqual(['--ort', '--reward', '--length-penalty', '--eval-every', '--seed', '--steps']);
    const c = {
      ...STAGE2_PRESET,
      steps: 3,
      lr: 1e-3,
      rewards: { sim: 1, psnr: 0.02 },
      lengthPenalty: { kind: 'overlong' as const, maxCompletionLength: 40, softPunishCache: 8, weight: 2 },
    };
    expect(parseTrainForm(formOf(c, 2, 'wasm'))).toEqual({ config: c, checkpointEvery: 2, device: 'wasm' });
  });

  it('refuses each invalid field with a message naming it', () => {
    expect(bad({ group: '1' })).toMatchObject({ field: 'group', message: "group must be an integer in [2, 32], got '1'" });
    expect(bad({ lr: '0' })).toMatchObject({ field: 'lr', message: expect.stringMatching(/^lr must be a number > 0, got '0'/) });
    expect(bad({ beta: '-0.1' })).toMatchObject({ field: 'beta', message: expect.stringMatching(/^beta must be a number ≥ 0/) });
    expect(bad({ steps: '2.5' }).field).toBe('steps');
    expect(bad({ steps: '' })).toMatchObject({ field: 'steps', message: expect.stringMatching(/got ''$/) });
    expect(bad({ steps: '10x' }).field).toBe('steps');
    expect(bad({ reward: 'bleu' })).toMatchObject({ field: 'reward', message: expect.stringMatching(/^reward takes NAME/) });
    expect(bad({ lengthPenalty: 'overlong:4:8' }).field).toBe('lengthPenalty');
    expect(bad({ loss: 'ppo' }).field).toBe('loss');
    expect(bad({ temperature: '0' }).field).toBe('temperature');
    expect(bad({ evalScenes: '0' }).field).toBe('evalScenes');
    expect(bad({ checkpointEvery: '0' })).toMatchObject({ field: 'checkpointEvery', message: expect.stringMatching(/^checkpoint every/) });
    expect(bad({ device: 'gpu' })).toMatchObject({
      field: 'device',
      message: "gradient device must be one of auto, wasm, webgpu, got 'gpu'",
    });
  });

  it('names every invalid field at once, one message each, in display order', () => {
    const errs = (patch: Partial<TrainForm>) => trainFormErrors({ ...DEFAULT_TRAIN_FORM, ...patch }).map((e) => [e.field, e.message]);
    expect(trainFormErrors(DEFAULT_TRAIN_FORM)).toEqual([]);
    // Two fields (the link ?tl-group=1&tl-lr=-1).
    expect(errs({ group: '1', lr: '-1' })).toEqual([
      ['group', "group must be an integer in [2, 32], got '1'"],
      ['lr', "lr must be a number > 0, got '-1'"],
    ]);
    // Three fields, typed in another order: listed in the form's order, each message naming its own field.
    const three: Partial<TrainForm> = { evalScenes: '0', reward: 'bleu', steps: '' };
    expect(errs(three).map(([f]) => f)).toEqual(['steps', 'reward', 'evalScenes']);
    for (const [field, message] of errs(three)) expect(message).toMatch(new RegExp(`^${field === 'evalScenes' ? 'eval scenes' : field} `));
    // Fixing one leaves the others marked, with the same messages.
    const before = errs(three);
    expect(errs({ ...three, reward: 'sim' })).toEqual(before.filter(([f]) => f !== 'reward'));
    expect(errs({ ...three, reward: 'sim', steps: '4' })).toEqual(before.filter(([f]) => f === 'evalScenes'));
    expect(errs({ ...three, reward: 'sim', steps: '4', evalScenes: '8' })).toEqual([]);
    // Config checks and the form's own (loss type, checkpoint spacing, gradient device) are all reported together.
    expect(errs({ loss: 'ppo', group: '1', temperature: '0', checkpointEvery: '0', device: 'gpu' }).map(([f]) => f)).toEqual([
      'group',
      'loss',
      'temperature',
      'checkpointEvery',
      'device',
    ]);
    // A spec that does not parse does not hide the fields after it.
    expect(errs({ lengthPenalty: 'overlong:4:8', seed: '-1' }).map(([f]) => f)).toEqual(['lengthPenalty', 'seed']);
  });

  it('reads a form with one parser: parseTrainForm throws the first of readTrainForm’s errors', () => {
    const form = { ...DEFAULT_TRAIN_FORM, group: '1', lr: '-1' };
    const r = readTrainForm(form);
    if (r.ok) throw new Error('accepted an invalid form');
    expect(r.errors.map((e) => e.field)).toEqual(['group', 'lr']);
    expect(bad({ group: '1', lr: '-1' })).toMatchObject({ field: 'group', message: r.errors[0].message });
    expect(readTrainForm(DEFAULT_TRAIN_FORM)).toEqual({ ok: true, config: LIVE_PRESET, checkpointEvery: 10, device: 'auto' });
    // The config's checks list every failing field; checkTrainConfig throws the first of them (the CLI's and worker's check).
    const config = { ...STAGE2_PRESET, group: 1, lr: -1, evalScenes: 0 };
    expect(trainConfigErrors(config).map((e) => e.field)).toEqual(['group', 'lr', 'evalScenes']);
    expect(() => checkTrainConfig(config)).toThrow(trainConfigErrors(config)[0].message);
    expect(trainConfigErrors(STAGE2_PRESET)).toEqual([]);
  });

  it('keeps every invalid field marked in the page’s store while others are fixed, and Start refuses the form', async () => {
    const marked = () => useStore.getState().runs.liveTrain.formErrors.map((e) => e.field);
    setLiveField('group', '1');
    setLiveField('lr', '-1');
    setLiveField('evalEvery', '0');
    expect(marked()).toEqual(['group', 'lr', 'evalEvery']);
    setLiveField('lr', '3e-5');
    expect(marked()).toEqual(['group', 'evalEvery']);
    await startLive();
    expect(useStore.getState().runs.liveTrain.run).toBeNull();
    expect(marked()).toEqual(['group', 'evalEvery']);
    setLiveField('group', '8');
    expect(useStore.getState().runs.liveTrain.formErrors).toEqual([
      { field: 'evalEvery', message: "eval every must be an integer in [1, 9007199254740991], got '0'" },
    ]);
    setLiveField('evalEvery', '20');
    expect(marked()).toEqual([]);
  });

  it('travels in the link as tl-* keys (defaults left out), typed text kept for the form to check', () => {
    const form = { ...DEFAULT_TRAIN_FORM, steps: '4', group: '1', reward: 'sim=1,psnr=0.02', device: 'wasm' };
    const q = writeQuery('train', form, '?seed=3');
    expect(q).toBe('?seed=3&tl-steps=4&tl-group=1&tl-reward=sim%3D1%2Cpsnr%3D0.02&tl-grad-device=wasm');
    const { values, present } = parseQuery(q);
    expect(present.train).toBe(true);
    expect(sanitizeGroup('train', values.train, DEFAULT_TRAIN_FORM)).toEqual(form);
  });
});

describe('train live views', () => {
  const run = {
    id: 'live-a',
    bundleKey: 'uae-shapes@1',
    checkpoints: [2, 1],
    log: [
      { step: 1, reward: 0.2, 'completions/mean_length': 3 },
      { step: 2, reward: 0.3, 'completions/mean_length': 4 },
    ],
    eval: [{ step: 0, mean_tokens: 3, sim: 0.1, attr_precision: 1, attr_recall: 0.2, retrieval_top1: 1 }],
  };

  it('lists the live run’s checkpoints after the bundle’s, only on the bundle it trains', () => {
    const bundle = [{ step: 0, label: 'cold start', encoder: { vision: 'v', decoder: 'd' } }];
    expect(scrubberCheckpoints(bundle, run, 'uae-shapes@1')).toEqual([
      { step: 0, label: 'cold start' },
      { step: 1, label: 'live run step 1', live: { runId: 'live-a' } },
      { step: 2, label: 'live run step 2', live: { runId: 'live-a' } },
    ]);
    expect(scrubberCheckpoints(bundle, run, 'other@1')).toEqual([{ step: 0, label: 'cold start' }]);
  });

  it('reads the run as the charts do: TRL keys per step and eval/* at evaluated steps', () => {
    const log = liveRunLog(run, 'live')!;
    expect(log.series['completions/mean_length'].map((p) => [p.step, p.value])).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(log.series['eval/sim'].map((p) => [p.step, p.value])).toEqual([[0, 0.1]]);
    expect(checkpointOwners([log])).toEqual([]);
    expect(liveRunLog({ log: [], eval: [] }, 'live')).toBeNull();
  });

  it('measures the pace from the steps finished since the request started', () => {
    expect(pace(5, 10, { at: 1000, step: 2 }, 7000)).toEqual({ secondsPerStep: 2, etaSeconds: 10 });
    expect(pace(2, 10, { at: 1000, step: 2 }, 7000)).toEqual({ secondsPerStep: null, etaSeconds: null });
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
  });

  it('writes a stored zip an independent reader opens, CRCs and all', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const files = [
      { path: 'manifest.json', data: new TextEncoder().encode('{"id":"x"}\n') },
      { path: 'checkpoints/step-0001/decoder_model_merged.onnx', data: Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 255) },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'uae-zip-'));
    try {
      writeFileSync(join(dir, 'b.zip'), zipStored(files));
      const script =
        'import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\n' +
        'print(json.dumps([[i.filename, i.file_size, i.compress_type, sum(z.read(i.filename))] for i in z.infolist()]))';
      const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, join(dir, 'b.zip')], { encoding: 'utf8' }));
      expect(out).toEqual(files.map((f) => [f.path, f.data.length, 0, f.data.reduce((a, b) => a + b, 0)]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
