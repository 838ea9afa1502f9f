#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { slimmingMethod } from './method';

runMethodCli(slimmingMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
