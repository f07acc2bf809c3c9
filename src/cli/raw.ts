import { stat } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { describeRawInputs, sniffFile } from '../io/open.js';
import { parseRawSpec, type RawSpec } from '../io/scanner-raw.js';
import { isUrl } from '../io/zarr-source.js';

export const RAW_FLAGS = '--raw <z,y,x,type,endian>';
export const RAW_HELP =
  'read a headerless raw file: sizes z,y,x (x fastest on disk), voxel type (uint8, int8, uint16, int16, uint32, int32, float32, float64), little or big, and optionally the bytes to skip before the voxels, e.g. 500,512,512,uint16,little';

/** Option parser for --raw. */
export function rawOption(text: string): RawSpec {
  try {
    return parseRawSpec(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** What an input is, in a few words, for the message when --raw cannot apply to it. */
async function kindOf(p: string): Promise<string> {
  if (isUrl(p)) return 'a URL';
  const st = await stat(p).catch(() => undefined);
  if (!st) return 'missing';
  if (st.isDirectory()) return 'a folder';
  return `a ${(await sniffFile(p)) ?? 'readable'} file, read from its own header`;
}

/** Makes --raw apply to those `inputs` that are headerless files; an error when it applies to none. */
export async function useRawLayout(spec: RawSpec | undefined, inputs: readonly string[]): Promise<void> {
  if (!spec) return;
  const taken = await describeRawInputs(inputs, spec);
  if (taken.length > 0) return;
  const kinds = await Promise.all(inputs.map(async (p) => `${p} is ${await kindOf(p)}`));
  throw new Error(`--raw describes headerless raw files, but ${kinds.join('; ')}`);
}
