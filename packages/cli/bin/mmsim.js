#!/usr/bin/env node
// The `mmsim` command as npm links it: a committed shim, so the link exists on
// a fresh clone (npm links workspace bins at install, before any build), which
// loads the built entry point — or says how to build it.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('mmsim: the command is not built yet: run `npm run build` (or `npm start`) in the repository first\n');
  process.exit(1);
}
await import(entry.href);
