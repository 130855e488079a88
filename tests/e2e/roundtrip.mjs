#!/usr/bin/env node
// Round-trip E2E runner (see harness.mjs): builds the app, serves it with `vite preview`, runs the round-trip
// specs (roundtrip-specs.mjs) in the system Chromium with WebGPU (SwiftShader) and with WebGPU disabled.
// Bundle: the catalog default when it can round-trip, else public/models/uae-tiny/, else the tiny test
// bundle copied into the built site for the run (checks.mjs panelBundle).
// Usage: node tests/e2e/roundtrip.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--screenshots]
import { runMain } from './harness.mjs';
import { spec } from './roundtrip-specs.mjs';

runMain('roundtrip', [spec]);
