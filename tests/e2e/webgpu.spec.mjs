#!/usr/bin/env node
// The WebGPU pass of `npm test`: what only WebGPU can show, for every suite, on ONE page.
//
// SwiftShader (the only WebGPU adapter on the test machines) compiles each graph's shaders again on every page: the
// first round trip of a page takes ~40 s there, the next ones ~7 s. So the suites do not each open their own WebGPU
// page. This spec opens one, and runs each suite's spec on it in WebGPU mode, in an order where nothing undoes the
// next one's start:
//   app shell   first load (byte progress, the bundle from the Cache API after a reload), the backend shown, a
//               bundle that fails in WebGPU session creation, the backend chooser (it ends on WebGPU)
//   round trip  browser vs `uae roundtrip` on the same scene and seed; cancel
//   rollouts    a group scored and every number equal to `uae rollouts --json`'s
//   bench       Unified-Bench and GenEval-Shapes on WebGPU sessions
//   train live  a step of the page's trainer with its ORT sessions on WebGPU, ahead of the scrubber's evaluation;
//               cancel; a live checkpoint evaluated (no reload: it recompiles every shader, and resuming is the same
//               code on either backend)
//   faults      cancel mid-run; then the WebGPU device destroyed mid-run (last: it recreates every session)
// Each suite's own runner runs it on WASM (its `modes: ['wasm']`); `--mode webgpu` there still gives a suite its own
// WebGPU page. A suite's specPage (checks.mjs) is how it knows it shares the page: it opens its tab and sets its
// fields in the page instead of following a link.
// Usage: node tests/e2e/webgpu.spec.mjs [--no-build] [--dist DIR] [--screenshots]
import { isMain, runMain } from './harness.mjs';
import { spec as bench } from './bench.spec.mjs';
import { spec as faults } from './resilience-faults.spec.mjs';
import { spec as rollouts } from './rollouts-checks.mjs';
import { spec as roundtrip } from './roundtrip-specs.mjs';
import { spec as app } from './specs.mjs';
import { spec as trainLive } from './train-live.spec.mjs';

/** The suites in the order they run on the shared page. */
export const SHARED_SUITES = [app, roundtrip, rollouts, bench, trainLive, faults];

async function runShared(ctx) {
  const page = await ctx.context.newPage();
  try {
    for (const suite of SHARED_SUITES) {
      console.log(`    — ${suite.name}`);
      const step = (name, fn) => ctx.step(`${suite.name}: ${name}`, fn);
      try {
        await suite.run({ ...ctx, step, page });
      } catch (error) {
        // A suite that aborts is reported as one failed step; the next suite still runs on the page.
        await step('spec run aborted', () => {
          throw error;
        });
      }
    }
  } finally {
    await page.close();
  }
}

export const spec = { name: 'webgpu', modes: ['webgpu'], run: runShared };

if (isMain(import.meta.url)) runMain('webgpu', [spec]);
