#!/usr/bin/env node
// Issue 9 resilience runner (see harness.mjs): bad models and other-origin bundles, faults (cancel → idle,
// lost WebGPU device, crashed or silent engine worker), and the 200-round-trip endurance run (WASM mode).
// Usage: node tests/e2e/resilience.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import { runMain } from './harness.mjs';
import { spec as endurance } from './resilience-endurance.spec.mjs';
import { spec as faults } from './resilience-faults.spec.mjs';
import { spec as models } from './resilience-models.spec.mjs';

runMain('resilience', [models, faults, endurance]);
