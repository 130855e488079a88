/** Which ONNX graphs a manifest's roles use, and resolving dotted role paths ('scorer.vision') to files. */
import { EngineError } from './errors.ts';
import type { BackboneRole, BundleManifest, BundleRoles } from './manifest.ts';

/** One graph a role uses: dotted role path ('encoder.vision', 'checkpoints.1.encoder.decoder') and file. */
export interface RoleGraph {
  role: string;
  path: string;
}

/** Returns the vision backbone `id` of roles.backbones, or undefined when the bundle does not ship it. */
export function findBackbone(manifest: Pick<BundleManifest, 'roles'>, id: string): BackboneRole | undefined {
  return manifest.roles.backbones?.find((b) => b.id === id);
}

/** Returns the role names present in the manifest, in a fixed order. */
export function presentRoles(manifest: BundleManifest): string[] {
  const order: (keyof BundleRoles)[] = ['encoder', 'referenceEncoder', 'decoder', 'scorer', 'backbones', 'checkpoints', 'runs'];
  return order.filter((k) => manifest.roles[k] !== undefined);
}

/**
 * Returns every ONNX graph the roles use: `eager` ones (the encoder, decoder and scorer a round trip runs) get
 * sessions at load; the reference encoder (rollouts with β > 0, training), backbones and checkpoints on first use.
 */
export function roleGraphs(manifest: BundleManifest): { eager: RoleGraph[]; lazy: RoleGraph[] } {
  const { encoder, referenceEncoder, decoder, scorer, backbones, checkpoints } = manifest.roles;
  const eager: RoleGraph[] = [];
  const add = (role: string, path: string | undefined): void => {
    if (path !== undefined) eager.push({ role, path });
  };
  add('encoder.vision', encoder?.vision);
  add('encoder.decoder', encoder?.decoder);
  add('decoder.textEncoder', decoder?.textEncoder);
  add('decoder.transformer', decoder?.transformer);
  add('decoder.vaeDecoder', decoder?.vaeDecoder);
  add('scorer.vision', scorer?.vision);
  add('scorer.text', scorer?.text);
  const lazy: RoleGraph[] = [
    ...(referenceEncoder
      ? [
          { role: 'referenceEncoder.vision', path: referenceEncoder.vision },
          { role: 'referenceEncoder.decoder', path: referenceEncoder.decoder },
        ]
      : []),
    ...(backbones ?? []).map((b, i) => ({ role: `backbones.${i}.vision`, path: b.vision })),
    ...(checkpoints ?? []).flatMap((c, i) => [
      { role: `checkpoints.${i}.encoder.vision`, path: c.encoder.vision },
      { role: `checkpoints.${i}.encoder.decoder`, path: c.encoder.decoder },
    ]),
  ];
  return { eager, lazy };
}

/**
 * Returns whether a URL load leaves bundle file `path` for its first use: every file but the tokenizer and the
 * graphs that get sessions at load (checkpoints, backbones, the reference encoder's own graphs, the model card,
 * recorded runs: the app reads runs from the bundle's URL itself).
 */
export function deferredAtLoad(path: string, manifest: BundleManifest): boolean {
  return path !== (manifest.tokenizer ?? 'tokenizer.json') && !roleGraphs(manifest).eager.some((g) => g.path === path);
}

/** Returns the bundle file a dotted role path names (e.g. 'scorer.vision'), or throws 'bad-request'. */
export function resolveRole(manifest: BundleManifest, role: string): string {
  let node: unknown = manifest.roles;
  for (const key of role.split('.')) {
    if (Array.isArray(node) && /^\d+$/.test(key)) node = node[Number(key)];
    else if (typeof node === 'object' && node !== null && !Array.isArray(node)) node = (node as Record<string, unknown>)[key];
    else node = undefined;
  }
  if (typeof node !== 'string' || !manifest.files.some((f) => f.path === node)) {
    throw new EngineError('bad-request', `role '${role}' does not name a file of bundle ${manifest.id}`);
  }
  return node;
}
