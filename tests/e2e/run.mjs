#!/usr/bin/env node
// App-shell E2E runner (see harness.mjs): builds the app, serves it with `vite preview`, and runs the specs
// of specs.mjs in the system Chromium twice, with WebGPU (SwiftShader) and with WebGPU disabled (WASM).
// Usage: node tests/e2e/run.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm] [--readme-screenshot]
import { runMain } from './harness.mjs';
import { spec } from './specs.mjs';

runMain('app', [spec]);
