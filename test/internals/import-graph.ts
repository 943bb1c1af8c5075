/**
 * The folder-to-folder import graph of src/, read from the TypeScript sources with the
 * compiler's own parser (not a regex: `import type`, `export ... from`, `require()`,
 * `import()` and `typeof import()` all count, comments and strings do not).
 *
 * A "wing" is what docs/architecture.md names: a top-level folder of src/ (its subfolders
 * roll up into it, so frontend/metrics is frontend), each folder of src/engine/ on its own,
 * src/engine/engine.ts as `engine`, src/engine/engine-options.ts as `engine-options`,
 * src/cli/flag-table.ts as `flag-table`, and
 * the root files errors, logger and index.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  /** File that imports, relative to the repository root. */
  file: string;
  from: string;
  to: string;
  /** The specifier as written. */
  specifier: string;
  /** Erased at compile time: `import type`, `export type`, `typeof import()`. */
  typeOnly: boolean;
}

export interface PackageImport {
  file: string;
  wing: string;
  specifier: string;
}

/** The wing a source file (path relative to src/, forward slashes) belongs to. */
export function wingOf(relativeToSrc: string): string {
  const parts = relativeToSrc.split('/');
  if (parts.length === 1) return parts[0].replace(/\.ts$/, '');
  if (parts[0] === 'engine') {
    if (parts.length === 2) return parts[1] === 'engine-options.ts' ? 'engine-options' : 'engine';
    return `engine/${parts[1]}`;
  }
  if (parts[0] === 'cli' && parts[1] === 'flag-table.ts') return 'flag-table';
  return parts[0];
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out.sort();
}

/** './x' names x.ts, x.d.ts or x/index.ts, as TypeScript resolves it. */
function resolveSource(base: string): string {
  for (const candidate of [base, `${base}.ts`, `${base}.d.ts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return `${base}.ts`;
}

interface Specifier {
  text: string;
  typeOnly: boolean;
}

function specifiersOf(file: string): Specifier[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Specifier[] = [];
  const visit = (node: ts.Node, insideType: boolean): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      // `import { type A, type B }` is erased as surely as `import type { A, B }`.
      const allNamedTypes =
        clause !== undefined &&
        clause.name === undefined &&
        clause.namedBindings !== undefined &&
        ts.isNamedImports(clause.namedBindings) &&
        clause.namedBindings.elements.length > 0 &&
        clause.namedBindings.elements.every((e) => e.isTypeOnly);
      found.push({ text: node.moduleSpecifier.text, typeOnly: clause?.isTypeOnly === true || allNamedTypes });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ text: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      found.push({ text: node.moduleReference.expression.text, typeOnly: node.isTypeOnly });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      found.push({ text: node.argument.literal.text, typeOnly: true });
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteralLike(node.arguments[0])) {
      const callee = node.expression;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      if (isRequire || isDynamicImport) found.push({ text: node.arguments[0].text, typeOnly: insideType });
    }
    ts.forEachChild(node, (child) => visit(child, insideType || ts.isTypeNode(child)));
  };
  visit(source, false);
  return found;
}

/** Every import in src/ that crosses from one wing to another, and every package import. */
export function importGraph(repositoryRoot: string): { edges: ImportEdge[]; packages: PackageImport[] } {
  const srcDir = path.join(repositoryRoot, 'src');
  const edges: ImportEdge[] = [];
  const packages: PackageImport[] = [];
  for (const full of sourceFiles(srcDir)) {
    const file = path.relative(repositoryRoot, full).split(path.sep).join('/');
    const from = wingOf(path.relative(srcDir, full).split(path.sep).join('/'));
    for (const { text, typeOnly } of specifiersOf(full)) {
      if (!text.startsWith('.')) {
        packages.push({ file, wing: from, specifier: text });
        continue;
      }
      const resolved = resolveSource(path.resolve(path.dirname(full), text));
      const target = path.relative(srcDir, resolved).split(path.sep).join('/');
      const to = target.startsWith('..') ? `outside src (${target})` : wingOf(target);
      if (to !== from) edges.push({ file, from, to, specifier: text, typeOnly });
    }
  }
  return { edges, packages };
}
