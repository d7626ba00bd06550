/**
 * The live chart of finetune on a 2-D canvas (no chart library): both students' losses (left axis,
 * rescaled to what has been seen), alpha_t of LA-EMA (right axis, its own range: it stays near 1), and a
 * strip at the bottom marking which student updated the teacher at each stage-2 iteration.
 */
import type { FinetuneProgress } from '../../src/api/types.js';

type IterationEvent = Extract<FinetuneProgress, { type: 'iteration' }>;

interface Point {
  readonly step: number;
  readonly phase: IterationEvent['phase'];
  readonly losses: readonly number[];
  readonly selected?: number;
  readonly alpha?: number;
}

const COLORS = { s1: '#4fc3f7', s2: '#ffb74d', alpha: '#aed581', sel: ['#4fc3f7', '#ffb74d'], axis: '#555', text: '#999' };

export class LossChart {
  private readonly points: Point[] = [];
  private total = 1;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.draw();
  }

  reset(): void {
    this.points.length = 0;
    this.total = 1;
    this.draw();
  }

  add(event: IterationEvent): void {
    this.points.push({
      step: this.points.length + 1,
      phase: event.phase,
      losses: event.losses,
      selected: event.selected,
      alpha: event.alpha,
    });
    // Stage 1 and stage 2 share one x axis; `fraction` is the share of both stages' iterations done so far.
    this.total = Math.max(this.total, Math.round(this.points.length / Math.max(event.fraction, 1e-9)));
    this.draw();
  }

  /** What the chart shows, for tests and screen readers. */
  summary(): { points: number; lastLosses: readonly number[]; lastSelected?: number; lastAlpha?: number } {
    const last = this.points[this.points.length - 1];
    return { points: this.points.length, lastLosses: last?.losses ?? [], lastSelected: last?.selected, lastAlpha: last?.alpha };
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width: w, height: h } = this.canvas;
    const pad = { l: 30, r: 34, t: 8, b: 22 };
    const strip = 6;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = COLORS.axis;
    ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
    ctx.fillStyle = COLORS.text;
    ctx.font = '10px sans-serif';
    if (this.points.length === 0) {
      ctx.fillText('losses appear here while adapting', pad.l + 8, h / 2);
      return;
    }
    const n = Math.max(this.total, this.points.length, 2);
    const x = (step: number): number => pad.l + ((step - 1) / (n - 1)) * (w - pad.l - pad.r);
    const losses = this.points.flatMap((p) => p.losses.filter(Number.isFinite));
    const lMax = Math.max(...losses, 1e-6);
    const yL = (v: number): number => pad.t + (1 - v / lMax) * (h - pad.t - pad.b - strip - 2);
    const alphas = this.points.map((p) => p.alpha).filter((a): a is number => a !== undefined && Number.isFinite(a));
    const aMin = alphas.length ? Math.min(...alphas) : 0;
    const aMax = alphas.length ? Math.max(...alphas) : 1;
    const aSpan = aMax - aMin || 1e-3;
    const yA = (v: number): number => pad.t + (1 - (v - aMin) / aSpan) * (h - pad.t - pad.b - strip - 2);

    ctx.fillText(lMax.toPrecision(2), 2, pad.t + 8);
    ctx.fillText('0', 2, h - pad.b - strip);
    if (alphas.length) {
      ctx.fillText(aMax.toFixed(3), w - pad.r + 2, pad.t + 8);
      ctx.fillText(aMin.toFixed(3), w - pad.r + 2, h - pad.b - strip);
    }
    ctx.fillText(`iteration ${this.points.length} / ${n}`, pad.l, h - 6);

    const line = (values: (number | undefined)[], y: (v: number) => number, color: string): void => {
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let started = false;
      values.forEach((v, i) => {
        if (v === undefined || !Number.isFinite(v)) return;
        const px = x(i + 1);
        const py = y(v);
        if (started) ctx.lineTo(px, py);
        else ctx.moveTo(px, py);
        started = true;
        // A single point still shows as a dot.
        if (values.length === 1) ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
      });
      ctx.stroke();
    };
    line(
      this.points.map((p) => p.losses[0]),
      yL,
      COLORS.s1,
    );
    line(
      this.points.map((p) => p.losses[1]),
      yL,
      COLORS.s2,
    );
    line(
      this.points.map((p) => p.alpha),
      yA,
      COLORS.alpha,
    );
    // The selected-student strip: one tick per stage-2 iteration in that student's colour.
    const stripY = h - pad.b - strip;
    for (const p of this.points) {
      if (p.phase !== 'stage2' || p.selected === undefined) continue;
      ctx.fillStyle = COLORS.sel[p.selected] ?? COLORS.text;
      ctx.fillRect(x(p.step) - 2, stripY, 4, strip);
    }
  }
}
