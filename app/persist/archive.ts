// The "all runs" archive: every stored round trip (with its images) and every imported training log in
// one JSON file, to move runs between browsers or keep them safe. Typed arrays travel as base64. Reading
// an archive checks every field before anything is stored: a foreign or damaged file is refused with a
// message naming the file, the record and the field.
import { asRunLog, type RunLog } from '../../src/engine/runs/index.ts';
import type { RtRun } from '../store/roundtripSlice';
import type { RunSummary } from '../store/runsSlice';

/** Format tag of the archive. */
export const ARCHIVE_FORMAT = 'uae-playground-runs/1';

/** A stored round trip as archived: its history line and the whole run. */
export interface ArchivedRoundTrip {
  summary: RunSummary;
  run: RtRun;
}

/** What an archive holds once read. */
export interface RunsArchive {
  roundtrips: ArchivedRoundTrip[];
  training: RunLog[];
}

/** An archive that cannot be read; `message` is "<file>: <what is wrong>". */
export class ArchiveError extends Error {
  constructor(file: string, detail: string) {
    super(`${file}: ${detail}`);
    this.name = 'ArchiveError';
  }
}

type Typed = Uint8Array | Uint8ClampedArray;

function toBase64(bytes: Typed): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Returns the archive as JSON text (typed arrays as {"$bytes": base64, "clamped"?: true}). */
export function archiveToJson(archive: RunsArchive, exportedAt: Date): string {
  const doc = { format: ARCHIVE_FORMAT, exportedAt: exportedAt.toISOString(), roundtrips: archive.roundtrips, training: archive.training };
  return JSON.stringify(doc, (_k, v: unknown) => {
    if (v instanceof Uint8ClampedArray) return { $bytes: toBase64(v), clamped: true };
    if (v instanceof Uint8Array) return { $bytes: toBase64(v) };
    return v;
  });
}

/** Checks one record; `at` names where a failure is, e.g. "round trip 3 (id …)". */
class Check {
  constructor(
    private readonly file: string,
    public at: string,
  ) {}

  fail(detail: string): never {
    throw new ArchiveError(this.file, `${this.at}: ${detail}`);
  }

  obj(v: unknown, name: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${name} is not an object`);
    return v as Record<string, unknown>;
  }

  str(v: unknown, name: string, max = 10_000): string {
    if (typeof v !== 'string' || v.length > max) this.fail(`${name} is not a string (of at most ${max} characters)`);
    return v;
  }

  num(v: unknown, name: string, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) this.fail(`${name} is not a number in [${min}, ${max}]`);
    return v;
  }

  int(v: unknown, name: string, min: number, max: number): number {
    const n = this.num(v, name, min, max);
    if (!Number.isInteger(n)) this.fail(`${name} is not an integer`);
    return n;
  }

  bytes(v: unknown, name: string, length: number, clamped = false): Typed {
    const o = this.obj(v, name);
    const b64 = this.str(o.$bytes, `${name}.$bytes`, 8 * length + 8);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(b64);
    } catch {
      this.fail(`${name} is not valid base64`);
    }
    if (bytes.length !== length) this.fail(`${name} holds ${bytes.length} bytes, expected ${length}`);
    return clamped ? new Uint8ClampedArray(bytes.buffer) : bytes;
  }

  fidelity(v: unknown, name: string): RtRun['loops'][number]['vsOriginal'] {
    const o = this.obj(v, name);
    return {
      sim: this.num(o.sim, `${name}.sim`, -1.001, 1.001),
      psnr: this.num(o.psnr, `${name}.psnr`, -1000, 1000),
      ssim: this.num(o.ssim, `${name}.ssim`, -1.001, 1.001),
    };
  }
}

const MAX_SIDE = 4096;
const STATUSES = ['finished', 'cancelled', 'failed'] as const;

function readRun(c: Check, v: unknown): RtRun {
  const r = c.obj(v, 'run');
  const id = c.str(r.id, 'id', 200);
  c.at = `${c.at} (id ${id})`;
  const status = r.status as RtRun['status'];
  if (!(STATUSES as readonly unknown[]).includes(status)) c.fail(`status "${String(r.status)}" is not one of ${STATUSES.join(', ')}`);
  const s = c.obj(r.settings, 'settings');
  const p = c.obj(s.policy, 'settings.policy');
  const policy: RtRun['settings']['policy'] =
    p.kind === 'greedy'
      ? { kind: 'greedy' }
      : p.kind === 'sample'
        ? { kind: 'sample', temperature: c.num(p.temperature, 'temperature', 0), topP: c.num(p.topP, 'topP', 0, 1) }
        : c.fail('settings.policy.kind is neither greedy nor sample');
  const b = c.obj(r.bundle, 'bundle');
  const input = c.obj(r.input, 'input');
  const width = c.int(input.width, 'input.width', 1, MAX_SIDE);
  const height = c.int(input.height, 'input.height', 1, MAX_SIDE);
  const pv = c.obj(input.preview, 'input.preview');
  const pw = c.int(pv.width, 'input.preview.width', 1, MAX_SIDE);
  const ph = c.int(pv.height, 'input.preview.height', 1, MAX_SIDE);
  const crop =
    input.crop === undefined
      ? undefined
      : Array.isArray(input.crop) && input.crop.length === 4
        ? (input.crop.map((x, i) => c.num(x, `input.crop[${i}]`, 0, 1)) as [number, number, number, number])
        : c.fail('input.crop is not 4 numbers');
  const kind = c.str(input.kind, 'input.kind', 20) as RtRun['input']['kind'];
  if (!['file', 'drop', 'paste', 'gallery', 'random', 'link'].includes(kind)) c.fail(`input.kind "${kind}" is unknown`);
  if (!Array.isArray(r.loops) || r.loops.length > 100) c.fail('loops is not a list of at most 100 loops');
  const loops = r.loops.map((lv: unknown, i) => {
    const l = c.obj(lv, `loops[${i}]`);
    const attr = l.attr === null || l.attr === undefined ? null : c.obj(l.attr, `loops[${i}].attr`);
    if (!Array.isArray(l.ids) || l.ids.length > 10_000) c.fail(`loops[${i}].ids is not a list`);
    return {
      loop: c.int(l.loop, `loops[${i}].loop`, 1, 100),
      caption: c.str(l.caption, `loops[${i}].caption`),
      ids: l.ids.map((x: unknown, k) => c.int(x, `loops[${i}].ids[${k}]`, 0, 1e9)),
      tokens: c.int(l.tokens, `loops[${i}].tokens`, 0, 1e6),
      truncated: l.truncated === true,
      image: c.bytes(l.image, `loops[${i}].image`, width * height * 3) as Uint8Array,
      vsOriginal: c.fidelity(l.vsOriginal, `loops[${i}].vsOriginal`),
      vsPrevious: c.fidelity(l.vsPrevious, `loops[${i}].vsPrevious`),
      attr: attr && {
        precision: c.num(attr.precision, 'attr.precision', 0, 1),
        recall: c.num(attr.recall, 'attr.recall', 0, 1),
        f1: c.num(attr.f1, 'attr.f1', 0, 1),
      },
      ms: c.num(l.ms, `loops[${i}].ms`, 0),
    };
  });
  const err = r.error === null || r.error === undefined ? null : c.obj(r.error, 'error');
  return {
    id,
    startedAt: c.num(r.startedAt, 'startedAt', 0),
    finishedAt: r.finishedAt === null ? null : c.num(r.finishedAt, 'finishedAt', 0),
    status,
    settings: {
      loops: c.int(s.loops, 'settings.loops', 1, 100),
      policy,
      steps: c.int(s.steps, 'settings.steps', 1, 10_000),
      seed: c.int(s.seed, 'settings.seed', 0, 0xffffffff),
    },
    bundle: {
      id: c.str(b.id, 'bundle.id', 200),
      name: c.str(b.name, 'bundle.name', 500),
      version: c.str(b.version, 'bundle.version', 100),
    },
    backend: c.str(r.backend, 'backend', 200),
    input: {
      kind,
      label: c.str(input.label, 'input.label', 1000),
      ...(input.sceneSeed === undefined ? {} : { sceneSeed: c.int(input.sceneSeed, 'input.sceneSeed', 0, 0xffffffff) }),
      ...(input.scene === undefined ? {} : { scene: c.obj(input.scene, 'input.scene') as unknown as NonNullable<RtRun['input']['scene']> }),
      sourceWidth: c.int(input.sourceWidth, 'input.sourceWidth', 1, 1e6),
      sourceHeight: c.int(input.sourceHeight, 'input.sourceHeight', 1, 1e6),
      preview: { data: c.bytes(pv.data, 'input.preview.data', pw * ph * 4, true) as Uint8ClampedArray, width: pw, height: ph },
      modelView: c.bytes(input.modelView, 'input.modelView', width * height * 3) as Uint8Array,
      width,
      height,
      resize: c.str(input.resize, 'input.resize', 1000),
      ...(crop ? { crop } : {}),
    },
    loops,
    error: err && { code: c.str(err.code, 'error.code', 100), message: c.str(err.message, 'error.message') },
  };
}

function readSummary(c: Check, v: unknown, run: RtRun): RunSummary {
  const s = c.obj(v, 'summary');
  if (s.id !== run.id) c.fail(`summary.id "${String(s.id)}" differs from the run's id`);
  return {
    id: run.id,
    kind: 'roundtrip',
    seed: c.int(s.seed, 'summary.seed', 0, 0xffffffff),
    startedAt: c.num(s.startedAt, 'summary.startedAt', 0),
    ...(s.title === undefined ? {} : { title: c.str(s.title, 'summary.title', 1000) }),
    ...(s.detail === undefined ? {} : { detail: c.str(s.detail, 'summary.detail', 1000) }),
  };
}

/** Returns the runs in archive text `text` of file `file`, every field checked; throws ArchiveError saying what is wrong. */
export function archiveFromJson(text: string, file: string): RunsArchive {
  if (text.trim() === '') throw new ArchiveError(file, 'the file is empty');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ArchiveError(file, `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const top = new Check(file, 'the file');
  const d = top.obj(doc, 'the document');
  if (d.format !== ARCHIVE_FORMAT) {
    const single =
      d.format === 'uae-roundtrip-run/1' ? ' (this is a single-run export, for reading; import takes an "Export all runs" file)' : '';
    throw new ArchiveError(
      file,
      `not a runs archive: format is ${JSON.stringify(d.format ?? null)}, expected "${ARCHIVE_FORMAT}"${single}`,
    );
  }
  if (!Array.isArray(d.roundtrips) || !Array.isArray(d.training))
    throw new ArchiveError(file, 'roundtrips and training must both be lists');
  const roundtrips = d.roundtrips.map((rec: unknown, i) => {
    const c = new Check(file, `round trip ${i + 1}`);
    const r = c.obj(rec, 'record');
    const run = readRun(c, r.run);
    return { summary: readSummary(c, r.summary, run), run };
  });
  const training = d.training.map(
    (rec: unknown, i) =>
      asRunLog(rec) ?? new Check(file, `training run ${i + 1}`).fail('is not a training log (id, label, source, series, text)'),
  );
  const ids = new Set<string>();
  for (const { run } of roundtrips) {
    if (ids.has(run.id)) throw new ArchiveError(file, `round trip id ${run.id} appears twice`);
    ids.add(run.id);
  }
  return { roundtrips, training };
}
