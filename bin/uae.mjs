#!/usr/bin/env node
// Runs the TypeScript CLI (src/cli/main.ts) through tsx so `npx uae` needs no build step.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
