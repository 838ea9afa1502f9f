import { DatasetFormatError } from './errors';

/**
 * The IDX format of the MNIST files: magic 0x00000800 | type | rank, then `rank` big-endian uint32 sizes,
 * then the data. Only unsigned bytes (type 0x08) are used by MNIST.
 */
export function parseIdx(file: string, bytes: Uint8Array, rank: 1 | 3): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 + 4 * rank) throw new DatasetFormatError(file, `${bytes.length} bytes is too short for an IDX header`);
  const magic = view.getUint32(0);
  if (magic !== 0x0800 + rank) {
    throw new DatasetFormatError(file, `IDX magic 0x${magic.toString(16)} is not an unsigned-byte rank-${rank} file (0x${(0x0800 + rank).toString(16)})`);
  }
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, d) => a * d, 1);
  const start = 4 + 4 * rank;
  if (bytes.length !== start + size) {
    throw new DatasetFormatError(file, `${bytes.length} bytes, but the header ${JSON.stringify(dims)} needs ${start + size}: truncated or corrupt`);
  }
  return { dims, data: bytes.subarray(start) };
}
