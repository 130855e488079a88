#!/usr/bin/env node
// Rollouts-panel E2E runner (see harness.mjs): builds the app, serves it with `vite preview`, and runs the
// rollouts spec (rollouts-checks.mjs) in the system Chromium with WebGPU (SwiftShader) and with it disabled.
// The panel scores a group of 8 on the default bundle (or, while the default cannot caption, on the tiny test
// bundle copied into the built site for the run only); the table must fill batch by batch, every number
// shown (parsed strictly: a blank or non-numeric cell fails) must be `uae rollouts --json`'s for the same
// settings to the digits shown, the charts must draw, and Cancel must leave the panel idle within 1 s, with
// no row after it and the worker free for the next group at once.
// Usage: node tests/e2e/rollouts.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
import { runMain } from './harness.mjs';
import { spec } from './rollouts-checks.mjs';

runMain('rollouts', [spec]);
