import { adamState, adamStep, type AdamOptions, type AdamState } from '../ops/adam.js';
import { rmspropState, rmspropStep, type RmspropOptions, type RmspropState } from '../ops/rmsprop.js';
import { fill } from '../ops/fill.js';
import type { Named, Parameter } from '../layers/layer.js';
import type { Tensor } from '../tensor.js';

export type OptimizerKind = 'adam' | 'rmsprop';

export interface OptimizerConfig {
  kind: OptimizerKind;
  lr: number;
  weightDecay?: number;
}

/** Adam or RMSprop over a model's parameters, skipping frozen ones; state saved for --resume. */
export class Optimizer {
  step = 0;
  private readonly adam = new Map<string, AdamState>();
  private readonly rms = new Map<string, RmspropState>();

  constructor(
    private readonly params: Named<Parameter>[],
    public config: OptimizerConfig,
  ) {}

  async zeroGrads(): Promise<void> {
    for (const { item } of this.params) if (item.grad) await fill(item.grad, 0);
  }

  async update(): Promise<void> {
    this.step++;
    for (const { name, item } of this.params) {
      if (item.frozen || !item.grad) continue;
      if (this.config.kind === 'adam') {
        let s = this.adam.get(name);
        if (!s) this.adam.set(name, (s = await adamState(item.value)));
        const opts: AdamOptions = { lr: this.config.lr, weightDecay: this.config.weightDecay ?? 0 };
        await adamStep(item.value, item.grad, s, this.step, opts);
      } else {
        let s = this.rms.get(name);
        if (!s) this.rms.set(name, (s = await rmspropState(item.value)));
        const opts: RmspropOptions = { lr: this.config.lr, weightDecay: this.config.weightDecay ?? 0 };
        await rmspropStep(item.value, item.grad, s, opts);
      }
    }
  }

  /** State tensors by name, for checkpoints. */
  stateTensors(): Named<Tensor>[] {
    const out: Named<Tensor>[] = [];
    for (const [name, s] of this.adam) out.push({ name: `${name}.adam_m`, item: s.m }, { name: `${name}.adam_v`, item: s.v });
    for (const [name, s] of this.rms) out.push({ name: `${name}.rms_square`, item: s.square });
    return out;
  }

  /** Restores state saved by stateTensors (tensors are uploaded into fresh state buffers). */
  async restore(step: number, arrays: Map<string, Float32Array>): Promise<void> {
    this.step = step;
    for (const { name, item } of this.params) {
      const m = arrays.get(`${name}.adam_m`);
      const v = arrays.get(`${name}.adam_v`);
      if (m && v) {
        const s = await adamState(item.value);
        item.value.gpu.upload(m, s.m.buffer);
        item.value.gpu.upload(v, s.v.buffer);
        this.adam.set(name, s);
      }
      const sq = arrays.get(`${name}.rms_square`);
      if (sq) {
        const s = await rmspropState(item.value);
        item.value.gpu.upload(sq, s.square.buffer);
        this.rms.set(name, s);
      }
    }
  }
}
