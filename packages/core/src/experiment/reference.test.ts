import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { paperWidths, readReference, ReferenceError } from './reference';

const referenceFile = (rows: unknown[]) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'reference-')), 'reference.json');
  fs.writeFileSync(file, JSON.stringify({ source: 'test', rows }));
  return file;
};
const row = (extra: Record<string, unknown>) =>
  ({ table: 'Table 8', row: 'CIFAR-10 / VGG-16', dataset: 'cifar10', model: 'vgg16-slimming', variant: 'vgg16-60', ...extra });

describe('reference.json', () => {
  it('reads a row of widths and leaves its missing cells null', () => {
    const widths = [{ width: 64, mean: 39.0, std: 3.7 }];
    const [read] = readReference(referenceFile([row({ widths })]));
    expect(read.widths).toEqual(widths);
    expect([read.baseline, read.finetuned, read.scratchE, read.scratchB]).toEqual([null, null, null, null]);
  });

  it('names the row whose widths are not numbers', () => {
    const file = referenceFile([row({}), row({ widths: [{ width: 64, mean: '39' }] })]);
    expect(() => readReference(file)).toThrow(ReferenceError);
    expect(() => readReference(file)).toThrow('rows[1].widths must be a list of { "width", "mean", "std" } numbers');
  });

  it('gives the widths of the run\'s dataset, else CIFAR-10\'s, else the first row\'s that has them', () => {
    const rows = readReference(referenceFile([row({}), row({ dataset: 'cifar100', widths: [{ width: 1, mean: 1, std: 0 }] }),
      row({ widths: [{ width: 2, mean: 2, std: 0 }] })]));
    expect(paperWidths(rows, 'vgg16-60', 'cifar100')?.widths?.[0].width).toBe(1);
    expect(paperWidths(rows, 'vgg16-60', 'cifar10')?.widths?.[0].width).toBe(2);
    expect(paperWidths(rows, 'vgg16-60', 'imagenet')?.widths?.[0].width).toBe(2);
    expect(paperWidths(rows.slice(0, 2), 'vgg16-60', 'imagenet')?.widths?.[0].width).toBe(1);
    expect(paperWidths(rows, 'vgg19-70', 'cifar10')).toBeUndefined();
  });
});
