/** The round-trip job (image → caption → image, N loops) shared by the worker, the CLI and the bench. */
export * from './types.ts';
export * from './job.ts';
