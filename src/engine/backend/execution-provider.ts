/**
 * Chooses where an instance runs. KIND_GPU needs onnxruntime-node's CUDA provider, which
 * only exists when the package was installed with ONNXRUNTIME_NODE_INSTALL=cuda12 (the
 * project's .npmrc skips that download, so the default install is CPU-only).
 */
import fs from 'node:fs';
import path from 'node:path';

export type InstanceKind = 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';

let cudaCheck: { available: boolean; reason: string } | undefined;

/** Whether the CUDA provider library is installed next to onnxruntime's binding. */
export function cudaProviderStatus(): { available: boolean; reason: string } {
  if (cudaCheck) return cudaCheck;
  try {
    const pkgDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const binDir = path.join(pkgDir, 'bin', `napi-v6`, process.platform, process.arch);
    const dirs = fs.existsSync(binDir) ? [binDir] : findBindingDirs(path.join(pkgDir, 'bin'));
    const found = dirs.some((d) => fs.readdirSync(d).some((f) => f.startsWith('libonnxruntime_providers_cuda')));
    cudaCheck = found
      ? { available: true, reason: 'CUDA execution provider installed' }
      : {
          available: false,
          reason:
            'onnxruntime-node was installed without its CUDA execution provider (reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12)',
        };
  } catch (err) {
    cudaCheck = { available: false, reason: `onnxruntime-node not found: ${(err as Error).message}` };
  }
  return cudaCheck;
}

function findBindingDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 4 || !fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name === 'onnxruntime_binding.node') out.push(dir);
    }
  };
  walk(root, 0);
  return out;
}
