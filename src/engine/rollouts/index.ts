/** The rollouts lab's engine: sample a group of captions per image, score them, and compute GRPO's numbers. */
export * from './types.ts';
export * from './rewards.ts';
export * from './report.ts';
export * from './run.ts';
export * from './format.ts';
