#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { regressionMethod } from './method';

runMethodCli(regressionMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
