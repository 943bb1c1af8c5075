import { AdmissionControl, MIN_IN_FLIGHT, TARGET_FRACTION, WINDOW_BUSY_MS } from '../../src/frontend/http/admission-control';

// Time is a plain number of milliseconds passed in: no timers in this file.

/** A worker that has served `count` requests one after another, each taking `eachMs`. */
function servedInSeries(count: number, eachMs: number): { control: AdmissionControl; now: number } {
  const control = new AdmissionControl();
  let now = 0;
  for (let i = 0; i < count; i++) {
    control.started(now);
    now += eachMs;
    control.finished(now);
  }
  return { control, now };
}

describe('AdmissionControl: Little\'s law on one worker\'s queue', () => {
  it('admits everything until it has measured a throughput (while the loop keeps time)', () => {
    const control = new AdmissionControl();
    for (let i = 0; i < 100; i++) control.started(0);
    expect(control.throughputPerSecond).toBeUndefined();
    expect(control.admits(1)).toBe(true);
  });

  it('measures the throughput over busy time only: idle time does not make a worker look slow', () => {
    const control = new AdmissionControl();
    let now = 0;
    for (let i = 0; i < 50; i++) {
      control.started(now);
      now += 4; // 4 ms of work
      control.finished(now);
      now += 100; // then idle
    }
    expect(control.throughputPerSecond).toBeCloseTo(250, 5);
  });

  it('takes one sample per window of busy time', () => {
    const { control } = servedInSeries(WINDOW_BUSY_MS / 2 - 1, 2);
    expect(control.throughputPerSecond).toBeUndefined();
    const { control: after } = servedInSeries(WINDOW_BUSY_MS / 2, 2);
    expect(after.throughputPerSecond).toBeCloseTo(500, 5);
  });

  it('counts concurrent requests: four in flight that finish every 2 ms are 500 a second', () => {
    const control = new AdmissionControl();
    let now = 0;
    for (let i = 0; i < 4; i++) control.started(now);
    for (let i = 0; i < 200; i++) {
      now += 2;
      control.finished(now);
      control.started(now);
    }
    expect(control.throughputPerSecond).toBeCloseTo(500, 5);
    expect(control.requestsInFlight).toBe(4);
    expect(control.expectedLatencyMs()).toBeCloseTo(10, 5); // (4 + 1) / 0.5 per ms
  });

  it.each<[string, number, number, boolean]>([
    // 2 ms a request: n in flight → a newcomer expects (n + 1) × 2 ms.
    ['fewer than MIN_IN_FLIGHT in flight: always', MIN_IN_FLIGHT - 1, 1, true],
    ['an expected wait within the target share of the budget', 49, 400, true], // (49 + 1) × 2 = 100 = 400 × 0.25
    ['an expected wait just past it', 50, 400, false], // 102 > 100
    ['a longer budget takes more', 50, 800, true],
  ])('admits %s', (_name, inFlight, budgetMs, admitted) => {
    const { control, now } = servedInSeries(200, 2);
    for (let i = 0; i < inFlight; i++) control.started(now);
    expect(TARGET_FRACTION).toBe(0.25);
    expect(control.admits(budgetMs)).toBe(admitted);
  });

  it('follows a throughput that changes (a moving average, not the first sample)', () => {
    const { control, now } = servedInSeries(100, 2); // 500 a second
    let t = now;
    for (let i = 0; i < 500; i++) {
      control.started(t);
      t += 10; // now 100 a second
      control.finished(t);
    }
    expect(control.throughputPerSecond).toBeCloseTo(100, 0);
  });

  it('adds the event loop\'s lag: requests wait in their sockets before the worker sees them', () => {
    const { control, now } = servedInSeries(200, 2);
    for (let i = 0; i < 9; i++) control.started(now);
    expect(control.expectedLatencyMs()).toBeCloseTo(20, 5);
    for (let i = 0; i < 20; i++) control.observeLoopLag(100);
    expect(control.expectedLatencyMs()).toBeCloseTo(120, 3);
    expect(control.admits(400)).toBe(false); // 120 > 100
    expect(control.admits(600)).toBe(true);
  });

  it('sheds on lag alone before a throughput is measured, once a few requests are in flight', () => {
    const control = new AdmissionControl();
    for (let i = 0; i < MIN_IN_FLIGHT; i++) control.started(0);
    for (let i = 0; i < 20; i++) control.observeLoopLag(400);
    expect(control.admits(1000)).toBe(false);
  });

  it('never counts more finishes than starts', () => {
    const control = new AdmissionControl();
    control.finished(5);
    expect(control.requestsInFlight).toBe(0);
  });
});
