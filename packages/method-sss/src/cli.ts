#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { sssMethod } from './method';

runMethodCli(sssMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
