#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { weightLevelMethod } from './method';

runMethodCli(weightLevelMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
