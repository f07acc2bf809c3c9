import type { ModelConfig } from '../../src/nn/models/registry.js';

/** Both architectures at sizes small enough for lavapipe, as the parity and determinism tests run them. */
export const SMALL_CONFIGS: ModelConfig[] = [
  { arch: 'dual', patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 12, lowWidths: [3, 5] },
  { arch: 'mlmr', patch: 32, lowChannels: [4, 6, 8], features: 8, hourglassDepth: 2 },
];
