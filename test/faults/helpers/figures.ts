/**
 * Each fault scenario reports what it counted in one line on stderr, e.g.
 *   [faults] worker SIGKILL: sent=5120 ok=5101 failed=19 restart_ms=812
 * so a run of the suite reads as a table of figures (the README's Operations section cites them).
 */
export function reportFigures(scenario: string, figures: Record<string, string | number | boolean>): void {
  const fields = Object.entries(figures)
    .map(([key, value]) => `${key}=${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(1) : String(value)}`)
    .join(' ');
  console.error(`[faults] ${scenario}: ${fields}`);
}
