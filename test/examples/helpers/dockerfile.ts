/**
 * Reads a Dockerfile into its instructions, enough to check what the image does: line
 * continuations joined, comments dropped, each instruction tagged with its build stage.
 */
export interface Instruction {
  keyword: string;
  args: string;
  /** The stage's name (FROM ... AS name), or its index when unnamed. */
  stage: string;
}

export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (current === '' && /^\s*(#|$)/.test(line)) continue;
    if (current !== '' && /^\s*#/.test(line)) continue; // comments inside a continuation
    const continued = /\\\s*$/.test(line);
    current += (current === '' ? '' : ' ') + line.replace(/\\\s*$/, '').trim();
    if (!continued) {
      logical.push(current);
      current = '';
    }
  }
  if (current !== '') logical.push(current);
  const out: Instruction[] = [];
  let stage = '';
  let stages = 0;
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/.exec(line)!;
    const keyword = match[1]!.toUpperCase();
    const args = match[2]!;
    if (keyword === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? String(stages++);
    out.push({ keyword, args, stage });
  }
  return out;
}

/** `ENV A=1 B=two` (the key=value form) → { A: '1', B: 'two' }; quotes are removed. */
export function envOf(instructions: readonly Instruction[], stage: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions) {
    if (i.keyword !== 'ENV' || i.stage !== stage) continue;
    for (const pair of i.args.match(/\S+=("[^"]*"|\S*)/g) ?? []) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The exec form's array (CMD ["node", ...]); HEALTHCHECK options before CMD are skipped. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}
