/**
 * process.hrtime.bigint() readings (what the engine's statistics record) as OpenTelemetry
 * times, so spans can be built after the fact from timestamps the engine already took: no
 * clock read on the request path for tracing's sake. A traced request's server span takes
 * its start and end from the same clock, so the queue and compute children always lie
 * inside it.
 *
 * The monotonic clock is tied to the wall clock by Date.now(), as the SDK ties its own
 * spans (so a front end's spans and the engine's line up to the millisecond), and re-tied
 * when the two have drifted more than MAX_DRIFT_NS apart (NTP slews the wall clock, not
 * the monotonic one), checked at most every CHECK_MS.
 */
import type { HrTime } from '@opentelemetry/api';

const CHECK_MS = 10_000;
/** Re-tied only past this much drift: each tie has Date.now()'s millisecond grain, and a re-tie shifts later spans by it. */
const MAX_DRIFT_NS = 2_000_000n;

let anchorHrNs = process.hrtime.bigint();
let anchorEpochNs = BigInt(Date.now()) * 1_000_000n;
let checkedAtMs = Date.now();

function checkDrift(): void {
  const nowMs = Date.now();
  checkedAtMs = nowMs;
  const hr = process.hrtime.bigint();
  const wallNs = BigInt(nowMs) * 1_000_000n;
  const drift = anchorEpochNs + (hr - anchorHrNs) - wallNs;
  if (drift > MAX_DRIFT_NS || drift < -MAX_DRIFT_NS) {
    anchorHrNs = hr;
    anchorEpochNs = wallNs;
  }
}

/** An hrtime.bigint() reading as an epoch [seconds, nanoseconds] pair. */
export function hrtimeToOtel(hrNs: bigint): HrTime {
  if (Date.now() - checkedAtMs > CHECK_MS) checkDrift();
  const epochNs = anchorEpochNs + (hrNs - anchorHrNs);
  return [Number(epochNs / 1_000_000_000n), Number(epochNs % 1_000_000_000n)];
}
