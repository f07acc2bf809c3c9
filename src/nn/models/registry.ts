import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Gpu } from '../../gpu/gpu.js';
import { writeFileAtomic } from '../../io/atomic-write.js';
import { readSafetensors, writeSafetensors, WeightsError, type NamedArray } from '../safetensors.js';
import { DualModel, DUAL_DEFAULT, type DualConfig } from './dual.js';
import { MlmrModel, MLMR_PAPER, type MlmrConfig } from './mlmr.js';
import type { SegmentationModel } from './model.js';

export type ModelConfig = MlmrConfig | DualConfig;

export const PRESETS: Record<string, ModelConfig> = { mlmr: MLMR_PAPER, dual: DUAL_DEFAULT };

/** Seeded uniform generator for initial weights (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildModel(gpu: Gpu, config: ModelConfig, seed = 1): SegmentationModel {
  const rand = seededRandom(seed);
  switch (config.arch) {
    case 'mlmr':
      return new MlmrModel(gpu, config, rand);
    case 'dual':
      return new DualModel(gpu, config, rand);
    default:
      throw new RangeError(`unknown architecture ${JSON.stringify((config as { arch?: unknown }).arch)} (known: mlmr, dual)`);
  }
}

/**
 * How a scan's intensities become network input, (v − offset) / scale: fixed numbers, or per scan
 * from its own percentiles (`low`/`high`, in percent, map to 0 and 1), which carries a model across
 * scanners, bit depths and exposure.
 */
export type Normalisation = { method: 'percentile'; low: number; high: number } | { method?: 'fixed'; offset: number; scale: number };

export const DEFAULT_NORMALISATION: Normalisation = { method: 'percentile', low: 0.5, high: 99.5 };

export function checkNormalisation(n: unknown): string | null {
  const v = n as Record<string, unknown> | null;
  if (!v || typeof v !== 'object') return 'missing';
  if (v.method === 'percentile') return typeof v.low === 'number' && typeof v.high === 'number' && v.low >= 0 && v.high <= 100 && v.low < v.high ? null : 'percentile needs 0 <= low < high <= 100';
  return Number.isFinite(v.offset) && (v.scale as number) > 0 ? null : 'fixed needs a finite offset and a positive scale';
}

/** The JSON model card saved beside the weights. */
export interface ModelCard {
  format: 'rhizoct-model';
  version: 1;
  config: ModelConfig;
  normalisation: Normalisation;
  training?: Record<string, unknown>;
  validation?: Record<string, unknown>;
}

/**
 * A model is a folder holding model.safetensors + card.json (`models/default`), or a file
 * `x.safetensors` with its card `x.card.json` beside it. A path not ending in .safetensors is a folder.
 */
export function modelPaths(path: string): { weights: string; card: string } {
  if ((existsSync(path) && statSync(path).isDirectory()) || !path.endsWith('.safetensors')) {
    return { weights: join(path, 'model.safetensors'), card: join(path, 'card.json') };
  }
  const base = path.replace(/\.safetensors$/, '');
  return { weights: `${base}.safetensors`, card: `${base}.card.json` };
}

/** Per-channel vectors live as [1, 1, 1, 1, C] on the GPU and as [C] on disk, as PyTorch keeps them. */
function storedShape(s: readonly number[]): number[] {
  return s.length === 5 && s[0] === 1 && s[1] === 1 && s[2] === 1 && s[3] === 1 ? [s[4]!] : [...s];
}

export async function saveModel(model: SegmentationModel, path: string, card: Omit<ModelCard, 'format' | 'version' | 'config'>): Promise<void> {
  const tensors = new Map<string, NamedArray>();
  for (const { name, item } of model.parameters()) tensors.set(name, { shape: storedShape(item.value.shape), data: await item.value.toArray() });
  for (const { name, item } of model.state()) tensors.set(name, { shape: storedShape(item.shape), data: await item.toArray() });
  const full: ModelCard = { format: 'rhizoct-model', version: 1, config: model.config as ModelConfig, ...card };
  const { weights, card: cardPath } = modelPaths(path);
  await mkdir(dirname(weights), { recursive: true });
  await writeSafetensors(weights, tensors, { format: 'rhizoct-model', config: JSON.stringify(full.config) });
  await writeFileAtomic(cardPath, JSON.stringify(full, null, 2) + '\n');
}

/** Loads a model, checking that every tensor the architecture expects is present with its shape. */
export async function loadModel(gpu: Gpu, path: string): Promise<{ model: SegmentationModel; card: ModelCard }> {
  const { weights, card: cardPath } = modelPaths(path);
  let card: ModelCard;
  try {
    card = JSON.parse(await readFile(cardPath, 'utf8')) as ModelCard;
  } catch (e) {
    throw new WeightsError(cardPath, `cannot read the model card (${(e as Error).message})`);
  }
  if (card.format !== 'rhizoct-model' || typeof card.config !== 'object') throw new WeightsError(cardPath, 'not a rhizoct model card (format/config missing)');
  const bad = checkNormalisation(card.normalisation);
  if (bad) throw new WeightsError(cardPath, `normalisation ${JSON.stringify(card.normalisation)}: ${bad}`);
  const { tensors } = await readSafetensors(weights);
  const model = buildModel(gpu, card.config);
  const expected = [...model.parameters().map((p) => ({ name: p.name, t: p.item.value })), ...model.state().map((s) => ({ name: s.name, t: s.item }))];
  const missing = expected.filter((e) => !tensors.has(e.name)).map((e) => e.name);
  if (missing.length > 0) throw new WeightsError(weights, `missing ${missing.length} tensor(s) for architecture ${card.config.arch}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
  const known = new Set(expected.map((e) => e.name));
  const extra = [...tensors.keys()].filter((k) => !known.has(k));
  if (extra.length > 0) throw new WeightsError(weights, `unexpected tensor(s) ${extra.slice(0, 5).join(', ')} for architecture ${card.config.arch}`);
  for (const { name, t } of expected) {
    const a = tensors.get(name)!;
    if (a.shape.join() !== storedShape(t.shape).join()) throw new WeightsError(weights, `tensor ${name} has shape [${a.shape}], the architecture needs [${t.shape}]`);
    gpu.upload(a.data, t.buffer);
  }
  return { model, card };
}

