/** What an SDS run carries between iterations: the students with their optimisers, the teacher, the cube stream. */
import type { Backend } from '../../backend/backend.js';
import { SdsError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { Parameter } from '../../nn/layer.js';
import { memoryPlan } from '../../nn/memory-plan.js';
import { Sgd } from '../../nn/sgd.js';
import { VNet } from '../../nn/vnet.js';
import { assign, mix32 } from '../../ops/index.js';
import { RandomStream } from '../random-stream.js';
import { hasTeacher, type SdsConfig, studentCount } from './config.js';
import { entryTensor } from './la-ema.js';

export interface Student {
  readonly net: VNet;
  readonly optimizer: Sgd;
}

export interface SdsState {
  readonly backend: Backend;
  readonly config: SdsConfig;
  /** [S1, S2] in the dual-student modes, [S] in 'mean-teacher' and 'supervised'. */
  readonly students: readonly Student[];
  /** The teacher T (null in 'supervised'), kept in eval mode. */
  readonly teacher: VNet | null;
  /** Host stream of cube positions. */
  readonly cubes: RandomStream;
  /**
   * Whether S1's training forward is run twice per mixed input so that only one student's activations
   * are held at a time (config.studentActivations, 'auto' resolved against the backend's memory limit).
   */
  readonly recomputeFirstStudent: boolean;
  /** Self-training iterations finished; the next one is t = iteration + 1. */
  iteration: number;
}

export interface CreateSdsStateOptions {
  /** Weights (and BN statistics) every network starts from: the stage-1 model. Default: S1's own init. */
  readonly initial?: VNet;
  /** The pretrained network L2-SP pulls the students towards (config.adaptation.l2sp > 0). */
  readonly anchor?: VNet;
}

/** Seeds of S1, S2, T: distinct, so each network draws its own dropout masks from its own counter. */
function networkSeed(seed: number, k: number): number {
  return mix32((seed ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0);
}

/** Copies every parameter, buffer and counter of `src` into `dst` (same architecture). */
export function copyWeights(backend: Backend, dst: VNet, src: VNet): void {
  const source = new Map(src.stateEntries().map((e) => [e.name, e]));
  for (const e of dst.stateEntries()) {
    const s = source.get(e.name);
    if (s === undefined || s.kind !== e.kind)
      throw new SdsError('E_SHAPE_MISMATCH', `copyWeights: the source has no ${e.kind} '${e.name}'`);
    if (e.kind === 'counter' && s.kind === 'counter') e.counter.value = s.counter.value;
    else assign(backend, entryTensor(e), entryTensor(s));
  }
}

/**
 * Builds the networks the mode needs, all starting from the same weights (METHOD.md: dropout noise is
 * the only early difference), and one SGD optimiser per student. S2's learning rate decays only when
 * `switches.decayBothStudents` (the authors' LA script decays S1's alone).
 */
export function createSdsState(backend: Backend, config: SdsConfig, options: CreateSdsStateOptions = {}): SdsState {
  const count = studentCount(config.mode);
  const nets = Array.from({ length: count }, (_, k) => new VNet(backend, config.network, { seed: networkSeed(config.seed, k) }));
  const teacher = hasTeacher(config.mode) ? new VNet(backend, config.network, { seed: networkSeed(config.seed, 2) }) : null;
  const origin = options.initial ?? nets[0];
  for (const net of [...nets, ...(teacher ? [teacher] : [])]) if (net !== origin) copyWeights(backend, net, origin);
  teacher?.eval();
  for (const net of nets) for (const bn of net.batchNorms()) bn.setStatistics(config.adaptation.studentBatchNorm);
  const o = config.optimizer;
  const students = nets.map((net, k) => {
    const decays = k === 0 || config.switches.decayBothStudents;
    // TENT trains the BatchNorm affine parameters alone.
    const trained = config.mode === 'tent' ? net.batchNorms().flatMap((bn) => bn.parameters()) : net.parameters();
    const anchor = options.anchor !== undefined && config.adaptation.l2sp > 0 ? anchorValues(options.anchor, trained) : undefined;
    return {
      net,
      optimizer: new Sgd(backend, trained, {
        lr: o.lr,
        momentum: o.momentum,
        weightDecay: o.weightDecay,
        ...(decays ? { stepSize: o.stepSize, gamma: o.gamma } : {}),
        ...(anchor !== undefined ? { anchor: { weight: config.adaptation.l2sp, values: anchor } } : {}),
      }),
    };
  });
  const recomputeFirstStudent = count === 2 && recomputes(backend, config);
  return { backend, config, students, teacher, cubes: new RandomStream(config.seed, 0x5d5), recomputeFirstStudent, iteration: 0 };
}

/**
 * 'auto': recompute where the backend states a memory limit (wasm: maxMemoryBytes) below what keeping
 * both students' activations takes by memoryPlan's estimate for one mixed input: two students'
 * parameters, gradients, momentum, activations and inputs, the teacher's weights, one backward's
 * workspace, and a quarter more for what it leaves out (the batch, losses, pseudo-labels, the
 * allocator's slack: measured 1.06-1.2 x the estimate). LA on wasm32: 4.2 GB estimated, 4.4 GB measured,
 * against 4 GiB; the demo's patch: 0.3 GB.
 */
function recomputes(backend: Backend, config: SdsConfig): boolean {
  if (config.studentActivations !== 'auto') return config.studentActivations === 'recompute';
  const limit = backend.info().limits.maxMemoryBytes;
  if (limit === undefined) return false;
  const b = memoryPlan(config.network, config.patch, config.labeledBatch / 2).bytes;
  const keeping =
    2 * (b.parameters + b.gradients + b.optimizer + b.activations + b.io) + b.parameters + 3 * b.buffers + b.backwardWorkspace;
  return 1.25 * keeping > limit;
}

/** The anchor network's value of each trained parameter, matched by name. */
function anchorValues(anchor: VNet, trained: readonly Parameter[]): Tensor[] {
  const byName = new Map(anchor.parameters().map((p) => [p.name, p.value]));
  return trained.map((p) => {
    const v = byName.get(p.name);
    if (v === undefined) throw new SdsError('E_SHAPE_MISMATCH', `createSdsState: the L2-SP anchor has no parameter '${p.name}'`);
    return v;
  });
}

export function disposeSdsState(state: SdsState): void {
  for (const s of state.students) {
    s.optimizer.dispose();
    s.net.dispose();
  }
  state.teacher?.dispose();
}
