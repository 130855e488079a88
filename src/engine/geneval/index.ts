/** GenEval-Shapes: compositional prompts from the Shapes grammar, an independent classical checker, the benchmark job. */
export * from './prompts.ts';
export * from './degrade.ts';
export * from './shape.ts';
export * from './analyse.ts';
export * from './facts.ts';
export * from './validate.ts';
export * from './run.ts';
