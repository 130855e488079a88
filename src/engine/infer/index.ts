/** Inference of a UAE bundle (encoder, decoder, scorer), metrics, evaluation and the round-trip loop. */
export * from './context.ts';
export * from './image.ts';
export * from './sampling.ts';
export * from './caption.ts';
export * from './flow.ts';
export * from './scorer.ts';
export * from './metrics.ts';
export * from './pipeline.ts';
export * from './evaluate.ts';
export * from './roundtrip.ts';
export * from './checkpoint.ts';
export * from './warmup.ts';
