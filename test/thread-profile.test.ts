// The arithmetic of bench:sds / bench:vnet --threads-profile (bench/support/thread-profile.ts): the
// parallel fraction and per-kernel use from a wasm runtime profile, against figures worked by hand.
import { describe, expect, it } from 'vitest';
import { formatThreadProfile, summariseThreadProfile } from '../bench/support/thread-profile.js';

describe('summariseThreadProfile', () => {
  // 2 threads; conv split steps: 100 ms wall, 180 ms busy; a serial add 10 ms; host copies 5 ms; the
  // run took 135 ms, so 20 ms were spent outside the queue. One thread would need 180 + 15 + 20 = 215 ms.
  const profile = {
    threads: 2,
    parallel: { conv3dRange: { calls: 4, wallMs: 100, busyMs: 180 } },
    serial: { addRange: { calls: 3, wallMs: 10, busyMs: 10 }, host: { calls: 2, wallMs: 5, busyMs: 5 } },
  };
  const s = summariseThreadProfile(profile, 135);

  it('splits the run into parallel, serial and outside-the-queue time', () => {
    expect(s.parallelWallMs).toBe(100);
    expect(s.parallelBusyMs).toBe(180);
    expect(s.serialMs).toBe(15);
    expect(s.outsideQueueMs).toBe(20);
    expect(s.parallelUse).toBeCloseTo(0.9, 12);
  });

  it("gives Amdahl's parallel fraction and speed-up", () => {
    expect(s.parallelFraction).toBeCloseTo(180 / 215, 12);
    expect(s.amdahlSpeedup).toBeCloseTo(1 / (35 / 215 + 90 / 215), 12);
  });

  it('lists kernels by wall time with their use', () => {
    expect(s.kernels.map((k) => [k.kernel, k.kind, k.use])).toEqual([
      ['conv3dRange', 'parallel', 0.9],
      ['addRange', 'serial', 1],
      ['host', 'serial', 1],
    ]);
    expect(formatThreadProfile('t', s).join('\n')).toMatch(/parallel fraction 0\.837 -> Amdahl speed-up at 2 threads x1\.72/);
  });
});
