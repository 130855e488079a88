/**
 * `uae info <bundle-dir> [--json]`: the bundle's id/version, roles and files with sizes; verifies every
 * file's size and sha256 and opens every ONNX graph on WASM (a file that is not ONNX is named).
 * Exit 1 with one line on stderr for any problem.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { ErrorPayload } from '../protocol/messages.ts';
import { verifyFile } from '../engine/bundle.ts';
import { toErrorPayload } from '../engine/errors.ts';
import { parseManifestText, type BundleManifest, type IoTensorSpec } from '../engine/manifest.ts';
import { roleGraphs } from '../engine/roles.ts';
import { ortSessionCreator, sessionOpenError } from '../engine/sessions.ts';
import { CliError, nodeOrt, printJson } from './io.ts';

/** What `uae info` found about one file. */
export interface FileReport {
  path: string;
  bytes: number;
  sha256: string;
  status: 'ok' | ErrorPayload['code'];
  message?: string;
  /** For ONNX graphs that opened: their input and output names. */
  inputs?: string[];
  outputs?: string[];
}

/** The whole `uae info` report (the --json output). */
export interface InfoReport {
  ok: boolean;
  dir: string;
  id?: string;
  name?: string;
  version?: string;
  description?: string;
  roles: { role: string; path: string }[];
  files: FileReport[];
  errors: ErrorPayload[];
}

const names = (specs: IoTensorSpec[]): string[] => specs.map((s) => s.name);
const sameSet = (a: string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** Opens `path` on WASM and checks its input/output names against the manifest's io entry. */
async function checkGraph(manifest: BundleManifest, report: FileReport, data: Uint8Array): Promise<void> {
  const create = ortSessionCreator(await nodeOrt());
  let inputs: readonly string[];
  let outputs: readonly string[];
  try {
    const session = await create(data, 'wasm');
    inputs = session.inputNames;
    outputs = session.outputNames;
    await session.release();
  } catch (e) {
    const err = sessionOpenError(report.path, e);
    Object.assign(report, { status: err.code, message: err.message });
    return;
  }
  Object.assign(report, { inputs: [...inputs], outputs: [...outputs] });
  const io = manifest.io[report.path];
  if (io && (!sameSet(names(io.inputs), inputs) || !sameSet(names(io.outputs), outputs))) {
    const message = `${report.path}: graph has inputs [${inputs.join(', ')}] and outputs [${outputs.join(', ')}], manifest io says [${names(io.inputs).join(', ')}] and [${names(io.outputs).join(', ')}]`;
    Object.assign(report, { status: 'io-mismatch', message });
  }
}

/** Returns the report on the bundle in `dir`; `graphs` false skips opening ONNX graphs. */
export async function bundleInfo(dir: string, graphs = true): Promise<InfoReport> {
  const report: InfoReport = { ok: false, dir, roles: [], files: [], errors: [] };
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    report.errors.push({ code: 'missing-file', message: `${manifestPath}: not found` });
    return report;
  }
  let manifest: BundleManifest;
  try {
    manifest = parseManifestText(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    report.errors.push(toErrorPayload(e));
    return report;
  }
  Object.assign(report, { id: manifest.id, name: manifest.name, version: manifest.version, description: manifest.description });
  const { eager, lazy } = roleGraphs(manifest);
  report.roles = [...eager, ...lazy, ...(manifest.roles.runs ?? []).map((r) => ({ role: `runs.${r.id}`, path: r.path }))];
  const graphPaths = new Set([...eager, ...lazy].map((g) => g.path).concat(Object.keys(manifest.io)));
  for (const entry of manifest.files) {
    const file: FileReport = { ...entry, status: 'ok' };
    report.files.push(file);
    const full = join(dir, entry.path);
    if (!existsSync(full) || !statSync(full).isFile()) {
      Object.assign(file, { status: 'missing-file', message: `${entry.path}: not found in ${dir}` });
      continue;
    }
    const data = new Uint8Array(readFileSync(full));
    try {
      await verifyFile(entry, data);
    } catch (e) {
      const err = toErrorPayload(e);
      Object.assign(file, { status: err.code, message: err.message });
      continue;
    }
    if (graphs && (graphPaths.has(entry.path) || entry.path.endsWith('.onnx'))) await checkGraph(manifest, file, data);
  }
  for (const f of report.files) if (f.status !== 'ok') report.errors.push({ code: f.status, message: f.message ?? f.path });
  report.ok = report.errors.length === 0;
  return report;
}

const group = (n: number): string => n.toLocaleString('en-US');

/** Returns the human-readable lines of a report. */
export function formatInfo(r: InfoReport): string[] {
  if (r.id === undefined) return [`${r.dir}: bundle manifest could not be read`];
  const lines = [`${r.id}@${r.version}  ${r.name}`];
  if (r.description) lines.push(`  ${r.description}`);
  lines.push('roles:');
  const width = Math.max(0, ...r.roles.map((x) => x.role.length));
  for (const { role, path } of r.roles) lines.push(`  ${role.padEnd(width)}  ${path}`);
  if (r.roles.length === 0) lines.push('  (none)');
  const total = r.files.reduce((a, f) => a + f.bytes, 0);
  lines.push(`files (${r.files.length}, ${group(total)} bytes):`);
  const bw = Math.max(...r.files.map((f) => group(f.bytes).length), 1);
  const pw = Math.max(...r.files.map((f) => f.path.length), 1);
  for (const f of r.files) {
    const io = f.inputs ? `  ${f.inputs.join(',')} -> ${f.outputs?.join(',')}` : '';
    lines.push(
      `  ${(f.status === 'ok' ? 'ok' : f.status.toUpperCase()).padEnd(15)} ${group(f.bytes).padStart(bw)}  ${f.path.padEnd(pw)}  sha256 ${f.sha256.slice(0, 12)}${io}`,
    );
  }
  const graphs = r.files.filter((f) => f.inputs).length;
  lines.push(
    r.ok ? `all ${r.files.length} files verified (size + sha256); ${graphs} ONNX graph(s) open on WASM` : `${r.errors.length} problem(s)`,
  );
  return lines;
}

/** Adds the `info` subcommand to `program`. */
export function registerInfo(program: Command): void {
  program
    .command('info')
    .description("print a bundle's roles and files and verify every sha256 (exit 1 on any problem)")
    .argument('<bundle-dir>', 'folder holding manifest.json')
    .option('--json', 'machine-readable output')
    .option('--no-graphs', 'skip opening the ONNX graphs')
    .action(async (dir: string, opts: { json?: boolean; graphs: boolean }) => {
      const report = await bundleInfo(dir, opts.graphs);
      if (opts.json) printJson(report);
      else for (const line of formatInfo(report)) console.log(line);
      if (!report.ok) {
        const more = report.errors.length > 1 ? ` (and ${report.errors.length - 1} more problem(s))` : '';
        throw new CliError(`${report.errors[0].message}${more}`);
      }
    });
}
