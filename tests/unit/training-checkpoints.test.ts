// What the scrubber says about the bundle's checkpoints (app/panels/training/checkpoints.ts): the count
// label from the manifest, which runs the checkpoints belong to, and when the panel must say so.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointOwners, checkpointSummary, foreignCheckpoints } from '../../app/panels/training/checkpoints.ts';
import { parseRunLog, type RunLog } from '../../src/engine/runs/index.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'public', 'models', 'uae-shapes', 'manifest.json'), 'utf8'));
const bundleRun = (id: string, path: string): RunLog =>
  parseRunLog(readFileSync(join(ROOT, 'public', 'models', 'uae-shapes', path), 'utf8'), path, {
    id: `bundle:${id}`,
    label: id,
    source: { kind: 'bundle', bundle: 'uae-shapes', stage: id.slice(5, 6) },
  });
const stage2 = bundleRun('stage2', 'runs/stage2-grpo.jsonl');
const stage3 = bundleRun('stage3', 'runs/stage3-flow-grpo.jsonl');
const imported = parseRunLog(readFileSync(join(ROOT, 'tests', 'fixtures', 'runs', 'trl-grpo-trainer_state.json'), 'utf8'), 'trl.json', {
  id: 'trl',
  label: 'trl.json',
});

describe('checkpoint count label', () => {
  it('counts the manifest’s checkpoints and says the cold start is one of them', () => {
    const steps: number[] = manifest.roles.checkpoints.map((c: { step: number }) => c.step);
    const trained = steps.filter((s) => s > 0);
    expect(checkpointSummary(manifest.roles.checkpoints)).toBe(
      `${steps.length} points: the cold start (step 0) + ${trained.length} checkpoints ` +
        `(steps ${Math.min(...trained)}–${Math.max(...trained)})`,
    );
    expect(checkpointSummary([{ step: 0 }, { step: 10 }])).toBe('2 points: the cold start (step 0) + 1 checkpoint (step 10)');
    expect(checkpointSummary([{ step: 5 }, { step: 10 }])).toBe('2 points: 2 checkpoints (steps 5–10)');
  });
});

describe('whose checkpoints', () => {
  it('belong to the bundle’s encoder run (the one logging caption lengths), never to an import', () => {
    expect(checkpointOwners([stage2, stage3, imported]).map((r) => r.id)).toEqual(['bundle:stage2']);
    expect(checkpointOwners([stage3, imported]).map((r) => r.id)).toEqual(['bundle:stage3']);
    expect(checkpointOwners([imported])).toEqual([]);
  });

  it('the panel says so when the shown runs do not include it', () => {
    const runs = [stage2, stage3, imported];
    expect(foreignCheckpoints(runs, ['trl'])).toBe('“stage2”');
    expect(foreignCheckpoints(runs, ['bundle:stage3'])).toBe('“stage2”');
    expect(foreignCheckpoints(runs, ['trl', 'bundle:stage2'])).toBeNull();
    expect(foreignCheckpoints(runs, [])).toBeNull();
    // A bundle loaded from files has no runs in the panel: nothing to point at, evaluation stays on.
    expect(foreignCheckpoints([imported], ['trl'])).toBeNull();
  });
});
