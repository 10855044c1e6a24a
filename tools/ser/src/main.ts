#!/usr/bin/env node
// `ser`, the operator CLI over the admin API (docs/cli.md). The only file that touches `process`.
import { runCli } from './cli';

void runCli(process.argv.slice(2), process.env, { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
);
