/**
 * NiiVue's label colormap for the overlay: index = label value. The demo scans' classes are 0 background
 * (transparent), 1 anterior and 2 posterior hippocampus; further labels (other models) get distinct hues.
 */
export interface LabelColormap {
  R: number[];
  G: number[];
  B: number[];
  A: number[];
  I: number[];
  labels: string[];
}

export function labelColormap(nClasses: number, names: readonly string[] = ['background', 'anterior', 'posterior']): LabelColormap {
  const fixed = [
    [0, 0, 0],
    [230, 60, 60],
    [60, 140, 255],
  ];
  const cm: LabelColormap = { R: [], G: [], B: [], A: [], I: [], labels: [] };
  for (let i = 0; i < Math.max(nClasses, 2); i++) {
    // Golden-angle hues beyond the fixed three keep neighbouring labels apart.
    const [r, g, b] = fixed[i] ?? hsl((i * 137.5) % 360);
    cm.R.push(r);
    cm.G.push(g);
    cm.B.push(b);
    cm.A.push(i === 0 ? 0 : 255);
    cm.I.push(i);
    cm.labels.push(names[i] ?? `label ${i}`);
  }
  return cm;
}

function hsl(h: number): number[] {
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (0.5 - 0.5 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
