// Chromium launch modes: the same system browser with WebGPU on (SwiftShader adapter) and off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.UAE_CHROMIUM ?? '/usr/bin/chromium';

const COMMON = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** The two runs: `expect` is the backend the header must show with the backend choice on Auto. */
export const MODES = [
  { name: 'webgpu', expect: 'webgpu', args: [...COMMON, '--enable-unsafe-webgpu'] },
  { name: 'wasm', expect: 'wasm', args: [...COMMON, '--disable-webgpu'] },
];

/** Launches Chromium with a fresh profile; returns { context, close } (close also deletes the profile). */
export async function launch(mode) {
  const profile = mkdtempSync(join(tmpdir(), `uae-e2e-${mode.name}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: mode.args,
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
