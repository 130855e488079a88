/**
 * The I/O contract of each role graph: the input and output names, element types and fixed dims the engine
 * feeds and reads (src/engine/infer/*), derived from the manifest (image size, heads, latent shape, embed
 * dim). `checkGraphIo` compares an opened session's metadata with it, and with the manifest's own `io`
 * entry, so a graph that does not fit fails at session creation with an error naming the file, the role
 * and the tensor, instead of failing later mid-run.
 */
import type { InferenceSession } from 'onnxruntime-web';
import { EngineError } from './errors.ts';
import type { BundleManifest, EncoderRole, IoTensorSpec } from './manifest.ts';
import { kvLayoutOf, kvNames, USE_CACHE_BRANCH, type KvLayout } from './kv-layout.ts';

/** One tensor the engine feeds or reads: `dims` null = any size; `rank` undefined = any rank. */
export interface ContractTensor {
  name: string;
  dtype: string;
  /** Expected dims when the rank is known (null entries: any size, e.g. batch or sequence). */
  dims?: (number | null)[];
}

/** What one role graph must provide: exactly these inputs, at least these outputs. */
export interface GraphContract {
  role: string;
  inputs: ContractTensor[];
  outputs: ContractTensor[];
}

/** The metadata of a session input or output the checks read (ORT's ValueMetadata). */
type Meta = InferenceSession.ValueMetadata;

const f32 = (name: string, dims?: (number | null)[]): ContractTensor => ({ name, dtype: 'float32', ...(dims ? { dims } : {}) });
const i64 = (name: string, dims?: (number | null)[]): ContractTensor => ({ name, dtype: 'int64', ...(dims ? { dims } : {}) });
const anyRank = (rank: number): null[] => new Array<null>(rank).fill(null);

function encoderContracts(prefix: string, enc: EncoderRole, image: (number | null)[], layout: KvLayout): [string, GraphContract][] {
  const kv = (kind: 'past_key_values' | 'present'): ContractTensor[] =>
    kvNames(layout, enc.numLayers, kind).map((k) => f32(k.name, [null, enc.numHeads, null, enc.headDim]));
  const branch: ContractTensor[] = layout === 'cross' ? [{ name: USE_CACHE_BRANCH, dtype: 'bool', dims: [1] }] : [];
  return [
    [enc.vision, { role: `${prefix}.vision`, inputs: [f32('pixel_values', image)], outputs: [f32('last_hidden_state', anyRank(3))] }],
    [
      enc.decoder,
      {
        role: `${prefix}.decoder`,
        inputs: [i64('input_ids', anyRank(2)), f32('encoder_hidden_states', anyRank(3)), ...kv('past_key_values'), ...branch],
        outputs: [f32('logits', anyRank(3)), ...kv('present')],
      },
    ],
  ];
}

/** Returns the contract of every role graph, keyed by file path (a file used by several roles gets one per role). */
export function roleContracts(manifest: BundleManifest): Map<string, GraphContract[]> {
  const { width, height } = manifest.preprocessing.image;
  const image = [null, 3, height, width];
  const { encoder, referenceEncoder, decoder, scorer, backbones, checkpoints } = manifest.roles;
  const list: [string, GraphContract][] = [];
  // The cache layout of each decoder graph is the one its manifest io entry names (legacy 'self' without one).
  const layout = (path: string): KvLayout => kvLayoutOf((manifest.io[path]?.inputs ?? []).map((t) => t.name));
  const contracts = (prefix: string, enc: EncoderRole): [string, GraphContract][] =>
    encoderContracts(prefix, enc, image, layout(enc.decoder));
  if (encoder) list.push(...contracts('encoder', encoder));
  if (referenceEncoder) list.push(...contracts('referenceEncoder', referenceEncoder));
  // Checkpoints are encoder snapshots: same heads and layers as the encoder (or the reference one).
  const base = encoder ?? referenceEncoder;
  if (base) (checkpoints ?? []).forEach((c, i) => list.push(...contracts(`checkpoints.${i}.encoder`, { ...base, ...c.encoder })));
  if (decoder) {
    const latent = [null, ...decoder.latentShape];
    // A transformer that takes its caption keys/values back (use_cache_branch) feeds the past_key_values.* its io names.
    const io = manifest.io[decoder.transformer]?.inputs ?? [];
    const textKv: ContractTensor[] =
      kvLayoutOf(io.map((t) => t.name)) === 'cross'
        ? [
            ...io.filter((t) => t.name.startsWith('past_key_values.')).map((t) => f32(t.name, anyRank(4))),
            { name: USE_CACHE_BRANCH, dtype: 'bool', dims: [1] },
          ]
        : [];
    list.push([
      decoder.textEncoder,
      { role: 'decoder.textEncoder', inputs: [i64('input_ids', anyRank(2))], outputs: [f32('last_hidden_state', anyRank(3))] },
    ]);
    list.push([
      decoder.transformer,
      {
        role: 'decoder.transformer',
        inputs: [f32('sample', latent), f32('timestep', [null]), f32('encoder_hidden_states', anyRank(3)), ...textKv],
        outputs: [f32('out_sample', latent)],
      },
    ]);
    if (decoder.vaeDecoder) {
      list.push([
        decoder.vaeDecoder,
        { role: 'decoder.vaeDecoder', inputs: [f32('latent_sample', latent)], outputs: [f32('sample', image)] },
      ]);
    }
  }
  if (scorer) {
    const embeds = [null, scorer.embedDim];
    list.push([scorer.vision, { role: 'scorer.vision', inputs: [f32('pixel_values', image)], outputs: [f32('image_embeds', embeds)] }]);
    list.push([scorer.text, { role: 'scorer.text', inputs: [i64('input_ids', anyRank(2))], outputs: [f32('text_embeds', embeds)] }]);
  }
  (backbones ?? []).forEach((b, i) =>
    list.push([
      b.vision,
      { role: `backbones.${i}.vision`, inputs: [f32('pixel_values', image)], outputs: [f32('image_embeds', [null, b.embedDim])] },
    ]),
  );
  const out = new Map<string, GraphContract[]>();
  for (const [path, c] of list) out.set(path, [...(out.get(path) ?? []), c]);
  return out;
}

const dimsText = (dims: readonly (number | string | null)[]): string => `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
const tensorMeta = (m: Meta): { type: string; shape: readonly (number | string)[] } | undefined =>
  m.isTensor ? { type: m.type, shape: m.shape } : undefined;

/**
 * Returns the problems of one tensor against an expectation (dtype, rank, fixed dims); [] when it fits.
 * `says` introduces the expectation: "role scorer.vision needs" or "manifest io says".
 */
function tensorProblems(
  kind: 'input' | 'output',
  meta: Meta,
  want: { dtype: string; dims?: readonly (number | string | null)[] },
  says: string,
): string[] {
  const t = tensorMeta(meta);
  if (!t) return [`${kind} '${meta.name}' is not a tensor, ${says} ${want.dtype}`];
  const out: string[] = [];
  if (t.type !== want.dtype) out.push(`${kind} '${meta.name}' is ${t.type}, ${says} ${want.dtype}`);
  // ORT reports [] when the graph declares no shape: nothing to compare then.
  if (want.dims && t.shape.length > 0) {
    const fixedMismatch = want.dims.some((d, i) => typeof d === 'number' && typeof t.shape[i] === 'number' && t.shape[i] !== d);
    if (t.shape.length !== want.dims.length || fixedMismatch) {
      out.push(`${kind} '${meta.name}' has shape ${dimsText(t.shape)}, ${says} ${dimsText(want.dims)}`);
    }
  }
  return out;
}

function contractProblems(inputs: readonly Meta[], outputs: readonly Meta[], c: GraphContract): string[] {
  const source = `role ${c.role}`;
  const problems: string[] = [];
  const names = (l: readonly { name: string }[]): string => `[${l.map((x) => x.name).join(', ')}]`;
  const missingIn = c.inputs.filter((w) => !inputs.some((m) => m.name === w.name));
  const extraIn = inputs.filter((m) => !c.inputs.some((w) => w.name === m.name));
  if (missingIn.length > 0 || extraIn.length > 0) {
    problems.push(`inputs are ${names(inputs)}, ${source} feeds ${names(c.inputs)}`);
  }
  const missingOut = c.outputs.filter((w) => !outputs.some((m) => m.name === w.name));
  if (missingOut.length > 0) problems.push(`outputs are ${names(outputs)}, ${source} reads ${names(c.outputs)}`);
  for (const [kind, metas, wants] of [
    ['input', inputs, c.inputs],
    ['output', outputs, c.outputs],
  ] as const) {
    for (const w of wants) {
      const m = metas.find((x) => x.name === w.name);
      if (m) problems.push(...tensorProblems(kind, m, w, `${source} needs`));
    }
  }
  return problems;
}

function manifestIoProblems(
  inputs: readonly Meta[],
  outputs: readonly Meta[],
  io: { inputs: IoTensorSpec[]; outputs: IoTensorSpec[] },
): string[] {
  const problems: string[] = [];
  for (const [kind, metas, specs] of [
    ['input', inputs, io.inputs],
    ['output', outputs, io.outputs],
  ] as const) {
    const graph = metas.map((m) => m.name).sort();
    const said = specs.map((s) => s.name).sort();
    if (graph.join('\n') !== said.join('\n')) {
      problems.push(`graph ${kind}s are [${graph.join(', ')}], manifest io says [${said.join(', ')}]`);
      continue;
    }
    for (const s of specs) {
      const m = metas.find((x) => x.name === s.name) as Meta;
      problems.push(...tensorProblems(kind, m, { dtype: s.dtype, dims: s.shape }, 'manifest io says'));
    }
  }
  return problems;
}

/** The parts of an ORT session the check reads. */
export type SessionIo = Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>;

/**
 * Returns nothing when `session` (the graph of bundle file `path`) fits every role contract it serves and the
 * manifest's `io` entry; throws EngineError('io-mismatch') naming the file, role and tensor otherwise.
 */
export function checkGraphIo(manifest: BundleManifest, path: string, session: SessionIo, contracts = roleContracts(manifest)): void {
  const inputs = session.inputMetadata;
  const outputs = session.outputMetadata;
  const problems: string[] = [];
  for (const c of contracts.get(path) ?? []) problems.push(...contractProblems(inputs, outputs, c));
  const io = manifest.io[path];
  if (io) problems.push(...manifestIoProblems(inputs, outputs, io));
  const unique = [...new Set(problems)];
  if (unique.length > 0) {
    const roles = (contracts.get(path) ?? []).map((c) => c.role);
    const where = roles.length > 0 ? ` (${roles.join(', ')})` : '';
    throw new EngineError('io-mismatch', `${path}${where}: ${unique.join('; ')}`);
  }
}
