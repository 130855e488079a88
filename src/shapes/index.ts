/** Public surface of the shapes world (pure TypeScript, no DOM or Node APIs). */
export * from './rng.ts';
export * from './scene.ts';
export * from './raster.ts';
export * from './caption.ts';
export * from './vocab.ts';
export * from './tokenizer.ts';
export * from './dataset.ts';
export * from './parse.ts';
