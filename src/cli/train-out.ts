/**
 * `uae train --out DIR`: the trained bundle and what resuming needs. DIR holds a copy of the source bundle whose
 * manifest lists the run's checkpoints (roles.checkpoints: step 0 is the cold start, the others
 * checkpoints/step-XXXX/decoder_model_merged.onnx holding the trained float32 weights), makes the last one the
 * 'encoder' role, records the run (runs/live-stage2.jsonl, TRL metric names, eval/* at evaluated steps) and lists every
 * file with its size and sha256. DIR/state holds the float32 weights, AdamW's state and the log, to resume from.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoadedBundle } from '../engine/bundle.ts';
import type { TrainConfig } from '../engine/train/config.ts';
import { checkpointPath, checkpointSteps, LIVE_RUN, runJsonl, trainedManifest } from '../engine/train/export.ts';
import { packState, unpackState } from '../engine/train/state-pack.ts';
import type { DecoderArch } from '../engine/train/params.ts';
import type { TrainEvalRow, TrainLogRow, TrainState } from '../engine/train/trainer.ts';
import { CliError } from './io.ts';

export { checkpointPath, LIVE_RUN };

/** What DIR/state/trainer.json holds besides the binary state. */
export interface SavedRun {
  config: TrainConfig;
  step: number;
  adamStep: number;
  log: TrainLogRow[];
  eval: TrainEvalRow[];
  /** Steps with a checkpoint graph in the bundle. */
  checkpoints: number[];
  /** Steps the run was resumed at, in order (each segment's log rows time their steps from there: s_per_step). */
  resumedAt?: number[];
}

const STATE_JSON = join('state', 'trainer.json');
const STATE_BIN = join('state', 'weights.bin');

/** Writes `data` to DIR/path through a temporary file, so an interruption leaves the old file or the new one. */
function writeAtomic(dir: string, path: string, data: Uint8Array | string): void {
  const full = join(dir, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(`${full}.tmp`, data);
  renameSync(`${full}.tmp`, full);
}

/** Whether the file at `full` exists and holds exactly `data`. */
function sameBytes(full: string, data: Uint8Array): boolean {
  if (!existsSync(full) || statSync(full).size !== data.length) return false;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(readFileSync(full));
}

/** The trained bundle in DIR, written as checkpoints land. */
export class TrainOutput {
  private readonly manifest: Record<string, unknown>;
  private readonly files = new Map<string, Uint8Array>();
  /** Source-bundle files already on disk with the listed bytes (checked or written by this process). */
  private readonly synced = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly source: LoadedBundle,
    /** The source bundle's manifest.json text (every field is kept). */
    manifestText: string,
    private readonly arch: DecoderArch,
  ) {
    this.manifest = JSON.parse(manifestText) as Record<string, unknown>;
    const old = new Set((source.manifest.roles.checkpoints ?? []).map((c) => c.encoder.decoder));
    const ref = source.manifest.roles.referenceEncoder;
    for (const [path, data] of source.files) {
      if (path === 'manifest.json' || (old.has(path) && path !== ref?.decoder && path !== ref?.vision)) continue;
      this.files.set(path, data);
    }
  }

  /** Returns the saved run in DIR/state, or null when there is none. */
  loadState(): { run: SavedRun; state: TrainState } | null {
    const json = join(this.dir, STATE_JSON);
    if (!existsSync(json)) return null;
    const run = JSON.parse(readFileSync(json, 'utf8')) as SavedRun;
    const bin = readFileSync(join(this.dir, STATE_BIN));
    const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    let state: TrainState;
    try {
      state = unpackState(all, this.arch, run.step, run.adamStep);
    } catch (e) {
      throw new CliError(`${join(this.dir, STATE_BIN)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const step of run.checkpoints) {
      const p = checkpointPath(step, this.coldStart());
      if (step !== 0) this.files.set(p, new Uint8Array(readFileSync(join(this.dir, p))));
    }
    return { run, state };
  }

  /** Saves the state to resume from: weights, AdamW's moments and the run so far. */
  saveState(state: TrainState, run: Omit<SavedRun, 'step' | 'adamStep'>): void {
    const all = packState(state, this.arch);
    writeAtomic(this.dir, STATE_BIN, new Uint8Array(all.buffer));
    const saved: SavedRun = { ...run, step: state.step, adamStep: state.adam.step };
    writeAtomic(this.dir, STATE_JSON, JSON.stringify(saved));
  }

  private coldStart(): string {
    const ref = this.source.manifest.roles.referenceEncoder;
    if (!ref) throw new CliError('the source bundle has no referenceEncoder');
    return ref.decoder;
  }

  /** Adds checkpoint `step` (its decoder graph) and rewrites the bundle: files, run log, manifest. */
  writeBundle(checkpoints: ReadonlyMap<number, Uint8Array>, log: readonly TrainLogRow[], evals: readonly TrainEvalRow[]): void {
    const ref = this.source.manifest.roles.referenceEncoder;
    if (!ref) throw new CliError('the source bundle has no referenceEncoder');
    for (const [step, graph] of checkpoints) if (step !== 0) this.files.set(checkpointPath(step, ref.decoder), graph);
    const steps = [...new Set([0, ...checkpoints.keys(), ...this.listedSteps()])].sort((a, b) => a - b);
    this.files.set(LIVE_RUN.path, new TextEncoder().encode(runJsonl(log, evals)));
    // A file DIR already holds is kept when it has the bytes the manifest will list (a resumed run's source bundle
    // may have changed since, e.g. its model card), so the manifest always describes what is on disk; each source file
    // is checked once per process.
    for (const [path, data] of this.files) {
      const written = path.startsWith('checkpoints/') || path.startsWith('runs/');
      if (!written && this.synced.has(path)) continue;
      if (written || !sameBytes(join(this.dir, path), data)) writeAtomic(this.dir, path, data);
      if (!written) this.synced.add(path);
    }
    const files = [...this.files.entries()].map(([path, data]) => ({
      path,
      bytes: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
    }));
    const manifest = trainedManifest(this.manifest, ref, steps, files);
    writeAtomic(this.dir, 'manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  }

  private listedSteps(): number[] {
    return checkpointSteps(this.files.keys(), this.source.manifest.roles.referenceEncoder?.decoder ?? '');
  }
}
