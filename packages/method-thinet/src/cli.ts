#!/usr/bin/env node
import { runMethodCli } from '@rethink-prune/core';
import { thinetMethod } from './method';

runMethodCli(thinetMethod, process.argv.slice(2)).then((code) => { process.exitCode = code; });
