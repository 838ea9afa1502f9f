#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { lotteryMethod } from './method';

if (require.main === module) {
  runMethodCli(lotteryMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
