#!/usr/bin/env node
// Issue 9 hardening runner (see harness.mjs): images (every format, every bad class, 240-file fuzz), storage
// (reload mid-run, storage full, export/import of all runs), privacy and the production CSP.
// Usage: node tests/e2e/hardening.mjs [--no-build] [--dist DIR] [--mode webgpu|wasm]
import { runMain } from './harness.mjs';
import { spec as images } from './hardening-images.spec.mjs';
import { spec as privacy } from './hardening-privacy.spec.mjs';
import { spec as storage } from './hardening-storage.spec.mjs';

runMain('hardening', [privacy, images, storage]);
