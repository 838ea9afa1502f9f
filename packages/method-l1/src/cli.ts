#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { l1Method } from './method';

runMethodCli(l1Method, process.argv.slice(2)).then((code) => { process.exitCode = code; });
