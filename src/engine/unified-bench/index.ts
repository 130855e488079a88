/** Unified-Bench: reference images → caption → reconstruction, scored by every backbone the bundle has. */
export * from './run.ts';
