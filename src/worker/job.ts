/**
 * How a request handler is written: what it gets besides its request (RequestContext), and defineJob, the
 * one preamble of every job that runs on the loaded bundle (bundle loaded, roles present, params checked,
 * an inference context on the request's cancel flag) so a handler holds only its own work.
 */
import type { LoadedBundle } from '../engine/bundle.ts';
import { EngineError } from '../engine/errors.ts';
import { createInferContext, type InferContext } from '../engine/infer/index.ts';
import type { BundleManifest, BundleRoles } from '../engine/manifest.ts';
import type { BundleSessions } from '../engine/sessions.ts';
import type { OrtModule, TensorTracker } from '../engine/tensors.ts';
import type { PartialOf, ProgressEvent, RequestOf, RequestType, ResultOf } from '../protocol/messages.ts';

/** What a request handler gets besides its request. */
export interface RequestContext<K extends RequestType> {
  id: string;
  progress(p: Omit<ProgressEvent, 'type' | 'id'>): void;
  partial(value: PartialOf<K>): void;
  /** Throws EngineError('cancelled') once the request was cancelled; call between session runs/steps. */
  checkCancelled(): void;
}

/** Handles one request kind; resolves to its result payload. */
export type Handler<K extends RequestType> = (req: RequestOf<K>, ctx: RequestContext<K>) => Promise<ResultOf<K>>;

/** The part of EngineHost a job uses: ORT, the tensor leak counter, the loaded bundle, the handler table. */
export interface JobHost {
  readonly deps: { readonly ort: OrtModule };
  readonly tracker: TensorTracker;
  /** Returns the loaded bundle and its sessions, or throws 'no-bundle'. */
  loaded(): { bundle: LoadedBundle; sessions: BundleSessions };
  register<K extends RequestType>(type: K, handler: Handler<K>): void;
}

/** What a job's `run` gets: its request and checked params, the loaded bundle, and an inference context. */
export interface Job<K extends RequestType, P> {
  req: RequestOf<K>;
  params: P;
  request: RequestContext<K>;
  host: JobHost;
  bundle: LoadedBundle;
  sessions: BundleSessions;
  manifest: BundleManifest;
  /** Returns the InferContext of the loaded bundle on this request's cancel flag (created on the first call). */
  infer(): InferContext;
}

/** A job on the loaded bundle: the roles it needs, its params check, its work. */
export interface JobSpec<K extends RequestType, P> {
  /** Roles the bundle must have; a missing one is 'bad-request' ("<type>: bundle <id> has no <role> role"). */
  roles: readonly (keyof BundleRoles)[];
  /** Returns the request's checked params, or throws EngineError('bad-request') naming the bad field. */
  check(req: RequestOf<K>, bundle: LoadedBundle): P;
  run(job: Job<K, P>): Promise<ResultOf<K>>;
}

/** Returns a function that registers request kind `type` on a host, run as `spec` says. */
export function defineJob<K extends RequestType, P>(type: K, spec: JobSpec<K, P>): (host: JobHost) => void {
  return (host) => {
    host.register(type, async (req, request) => {
      const { bundle, sessions } = host.loaded();
      const manifest = bundle.manifest;
      for (const role of spec.roles) {
        if (!manifest.roles[role]) throw new EngineError('bad-request', `${type}: bundle ${manifest.id} has no ${role} role`);
      }
      const params = spec.check(req, bundle);
      let ctx: InferContext | undefined;
      const infer = (): InferContext =>
        (ctx ??= createInferContext({
          ort: host.deps.ort,
          tracker: host.tracker,
          sessions,
          bundle,
          checkCancelled: request.checkCancelled,
        }));
      return spec.run({ req, params, request, host, bundle, sessions, manifest, infer });
    });
  };
}
