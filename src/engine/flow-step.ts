/**
 * The flow sampler's Euler step as a graph (written by onnx-write.ts), so that on WebGPU the latents stay on the GPU
 * from one step to the next: the transformer's velocity goes in as the GPU buffer it came out as, and the next
 * latents, the next transformer input and the step's x0 estimate come out as GPU buffers, read back only where the
 * sampler's caller asks (a preview, the last step). The same maths as infer/flow.ts's CPU loop, in float32:
 *   v = v_u + g·(v_c − v_u)   (classifier-free guidance: the velocity's first half conditional, second unconditional)
 *   x_next = x + dt·v,   estimate = x − t·v,   sample_next = [x_next; x_next] (the next run's cond and uncond rows).
 * Without guidance v is the velocity itself and sample_next is x_next.
 */
import { floatValueInfo, model, node } from './onnx-write.ts';

/** The step graph's inputs: latents x [B,…], velocity [2B,…] (B without guidance), t, dt and the guidance scale [1]. */
export const FLOW_STEP_INPUTS = ['flow_step.x', 'flow_step.velocity', 'flow_step.t', 'flow_step.dt', 'flow_step.guidance'] as const;

/** Its outputs: the next latents [B,…], the next transformer `sample` ([2B,…] with guidance) and the x0 estimate [B,…]. */
export const FLOW_STEP_OUTPUTS = ['flow_step.x_next', 'flow_step.sample_next', 'flow_step.estimate'] as const;

/** The name a bundle's sessions keep the step graph under (BundleSessions.builtin). */
export function flowStepName(guided: boolean): string {
  return guided ? 'flow-step-cfg' : 'flow-step';
}

/** Returns the ONNX bytes of the Euler step, with classifier-free guidance (`guided`) or without. */
export function flowStepModel(guided: boolean): Uint8Array {
  const [x, velocity, t, dt, g] = FLOW_STEP_INPUTS;
  const [xNext, sampleNext, estimate] = FLOW_STEP_OUTPUTS;
  const latent = ['batch', 'channels', 'height', 'width'];
  const nodes = guided
    ? [
        node('Split', [velocity], ['v_cond', 'v_uncond'], 'split', { axis: 0 }),
        node('Sub', ['v_cond', 'v_uncond'], ['v_diff'], 'diff'),
        node('Mul', ['v_diff', g], ['v_scaled'], 'scale'),
        node('Add', ['v_uncond', 'v_scaled'], ['v'], 'guide'),
      ]
    : [node('Identity', [velocity], ['v'], 'velocity')];
  nodes.push(
    node('Mul', ['v', dt], ['v_dt'], 'step'),
    node('Add', [x, 'v_dt'], [xNext], 'next'),
    node('Mul', ['v', t], ['v_t'], 'back'),
    node('Sub', [x, 'v_t'], [estimate], 'estimate'),
    guided ? node('Concat', [xNext, xNext], [sampleNext], 'rows', { axis: 0 }) : node('Identity', [xNext], [sampleNext], 'rows'),
  );
  return model(guided ? 'flow_step_cfg' : 'flow_step', {
    nodes,
    inputs: [
      floatValueInfo(x, latent),
      floatValueInfo(velocity, ['rows', 'channels', 'height', 'width']),
      floatValueInfo(t, [1]),
      floatValueInfo(dt, [1]),
      floatValueInfo(g, [1]),
    ],
    outputs: [
      floatValueInfo(xNext, latent),
      floatValueInfo(sampleNext, ['rows', 'channels', 'height', 'width']),
      floatValueInfo(estimate, latent),
    ],
  });
}
