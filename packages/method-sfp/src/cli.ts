#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { sfpMethod } from './method';

runMethodCli(sfpMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
