/** The GenEval-Shapes job and `uae geneval`: oracle ceiling, result layout, the decoder path on the tiny bundle. */
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { ALL_TASKS, genevalPrompts, runGeneval, summarise } from '../../src/engine/geneval/index.ts';
import { useContext } from './infer-helpers.ts';

describe('runGeneval', () => {
  it('oracle: the checker on the true renders passes every task (≥ 0.99), without a bundle', async () => {
    const progress: number[] = [];
    const r = await runGeneval(undefined, {
      seed: 23,
      promptsPerTask: 10,
      perPrompt: 2,
      oracle: true,
      onProgress: (d) => progress.push(d),
    });
    expect(Object.keys(r)).toEqual(['tasks', 'overall', 'prompts', 'per_prompt']);
    expect(Object.keys(r.tasks)).toEqual([...ALL_TASKS]);
    expect(r.prompts).toBe(70);
    expect(r.overall).toBeGreaterThanOrEqual(0.99);
    for (const t of ALL_TASKS) expect(r.tasks[t]).toBeGreaterThanOrEqual(0.9);
    expect(progress.at(-1)).toBe(140);
    expect(r.per_prompt[0].passed).toHaveLength(2);
  });

  it('overall is the mean of the six GenEval tasks; plus_plus stays apart', () => {
    const prompts = genevalPrompts(5, 1);
    const verdicts = prompts.flatMap((p) => [
      { ok: p.task !== 'plus_plus', seen: [] },
      { ok: p.task === 'single_object', seen: [] },
    ]);
    const r = summarise(prompts, verdicts, 2);
    expect(r.tasks.single_object).toBe(1);
    expect(r.tasks.counting).toBe(0.5);
    expect(r.tasks.plus_plus).toBe(0);
    expect(r.overall).toBeCloseTo((1 + 5 * 0.5) / 6, 12);
  });

  it('rejects a run without a bundle unless oracle is set', async () => {
    await expect(runGeneval(undefined, { seed: 1, promptsPerTask: 1, perPrompt: 1 })).rejects.toThrow(/oracle/);
  });
});

describe('the decoder path (tiny bundle)', () => {
  const opened = useContext();

  it('draws N images per prompt, seeded: the same seed gives the same verdicts', async () => {
    const opts = { seed: 4, promptsPerTask: 1, perPrompt: 2, steps: 1, batch: 5 };
    const a = await runGeneval(opened().ctx, opts);
    expect(a.per_prompt.map((p) => p.passed.length)).toEqual(new Array(7).fill(2));
    for (const t of ALL_TASKS) expect(a.tasks[t]).toBeGreaterThanOrEqual(0);
    expect(await runGeneval(opened().ctx, opts)).toEqual(a);
  }, 120_000);
});

describe('uae geneval', () => {
  it('--oracle --json prints exactly {tasks, overall, prompts, per_prompt}', async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      expect(await main(['geneval', '--oracle', '--json', '--prompts-per-task', '3', '--per-prompt', '1', '--seed', '9'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const doc = JSON.parse(out) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['tasks', 'overall', 'prompts', 'per_prompt']);
    expect(doc.overall).toBe(1);
    expect(doc.prompts).toBe(21);
  });

  it('rejects a bad option with a message naming it', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['geneval', '--oracle', '--per-prompt', '0'])).not.toBe(0);
    } finally {
      err.mockRestore();
    }
  });
});
