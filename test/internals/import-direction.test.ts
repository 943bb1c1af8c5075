/**
 * The import direction docs/architecture.md documents is the rule: this reads the table
 * between its import-rules markers and checks the import graph of src/ against it, so the
 * doc cannot drift from the code and an import running the wrong way (engine → frontend,
 * client → engine) fails here, naming the file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { importGraph, wingOf } from './import-graph';

const ROOT = path.join(__dirname, '..', '..');

interface WingRule {
  mayImport: Set<string>;
  /** Wings this one may import only with `import type` (marked **type-only** in the table). */
  typeOnly: Set<string>;
}

function documentedRules(): Map<string, WingRule> {
  const doc = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const block = /<!-- import-rules:start -->([\s\S]*?)<!-- import-rules:end -->/.exec(doc);
  if (block === null) throw new Error('docs/architecture.md has no import-rules block');
  const rules = new Map<string, WingRule>();
  for (const line of block[1].split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // | `wing` | what | may import |  →  ['', '`wing`', 'what', 'may import', '']
    if (cells.length < 5 || !/^`[^`]+`$/.test(cells[1])) continue;
    const wing = cells[1].slice(1, -1);
    const allowed = cells[3];
    const rule: WingRule = { mayImport: new Set(), typeOnly: new Set() };
    const everyEngineWing = /every `engine\/\*` wing/.test(allowed);
    // Each `name` in the cell, and whether **type-only** follows it before the next name.
    for (const match of allowed.matchAll(/`([^`]+)`(\s*\(\*\*type-only\*\*)?/g)) {
      rule.mayImport.add(match[1]);
      if (match[2] !== undefined) rule.typeOnly.add(match[1]);
    }
    if (everyEngineWing) rule.mayImport.add('engine/*');
    rules.set(wing, rule);
  }
  return rules;
}

function allows(rule: WingRule, to: string): boolean {
  return rule.mayImport.has(to) || (to.startsWith('engine/') && rule.mayImport.has('engine/*'));
}

const rules = documentedRules();
const { edges, packages } = importGraph(ROOT);

describe('import direction (docs/architecture.md, "Wings and who may import whom")', () => {
  it('reads a rule for every wing the doc names, the root ones included', () => {
    for (const wing of ['errors', 'util', 'tensor', 'client', 'frontend', 'engine', 'engine/scheduler', 'cli', 'telemetry']) {
      expect(rules.has(wing)).toBe(true);
    }
    expect(rules.get('errors')?.mayImport.size).toBe(0);
    expect(rules.get('engine/cache')?.typeOnly).toEqual(new Set(['engine/models']));
  });

  it('finds the imports it checks (the graph is not empty, and sees type-only and require() imports)', () => {
    expect(edges.some((e) => e.from === 'frontend' && e.to === 'client')).toBe(true);
    expect(edges.some((e) => e.from === 'engine/cache' && e.to === 'engine/models' && e.typeOnly)).toBe(true);
    expect(edges.some((e) => e.from === 'engine/models' && e.to === 'engine/scheduler' && !e.typeOnly)).toBe(true);
  });

  it('classifies files into wings as the doc describes', () => {
    expect(wingOf('errors.ts')).toBe('errors');
    expect(wingOf('engine/engine.ts')).toBe('engine');
    expect(wingOf('engine/engine-options.ts')).toBe('engine-options');
    expect(wingOf('engine/scheduler/batch-former.ts')).toBe('engine/scheduler');
    expect(wingOf('frontend/metrics/registry.ts')).toBe('frontend');
    expect(wingOf('frontend/http/score-runner.ts')).toBe('frontend');
    expect(wingOf('cli/flag-table.ts')).toBe('flag-table');
    expect(wingOf('cli/main.ts')).toBe('cli');
  });

  it('every wing in src/ is documented (a new folder gets a row before it gets imports)', () => {
    const wings = new Set([...edges.flatMap((e) => [e.from, e.to]), ...packages.map((p) => p.wing)]);
    const undocumented = [...wings].filter((w) => !rules.has(w)).sort();
    expect(undocumented).toEqual([]);
  });

  it('every import between wings runs in a documented direction', () => {
    const wrong: string[] = [];
    for (const edge of edges) {
      const rule = rules.get(edge.from);
      if (rule === undefined) continue; // reported by the previous test
      if (!allows(rule, edge.to)) wrong.push(`${edge.file}: ${edge.from} → ${edge.to} ('${edge.specifier}')`);
      else if (rule.typeOnly.has(edge.to) && !edge.typeOnly) wrong.push(`${edge.file}: ${edge.from} → ${edge.to} ('${edge.specifier}') must be import type`);
    }
    expect(wrong).toEqual([]);
  });

  it('packages stay in their homes (onnxruntime, gRPC, the OpenTelemetry SDK, prom-client)', () => {
    const homes: Array<{ pattern: RegExp; wings: string[] }> = [
      { pattern: /^onnxruntime-node$/, wings: ['engine/backend'] },
      { pattern: /^@grpc\/grpc-js$/, wings: ['engine/grpc', 'perf', 'telemetry'] },
      // One loader of the protocol files (util/proto-files.ts); the server and perf take its result.
      { pattern: /^@grpc\/proto-loader$/, wings: ['util', 'engine/grpc'] },
      { pattern: /^@opentelemetry\/(?!api$)/, wings: ['telemetry'] },
      { pattern: /^prom-client$/, wings: ['frontend'] },
    ];
    const wrong = packages
      .filter((p) => homes.some((h) => h.pattern.test(p.specifier) && !h.wings.includes(p.wing)))
      .map((p) => `${p.file}: ${p.wing} imports ${p.specifier}`);
    expect(wrong).toEqual([]);
  });
});
