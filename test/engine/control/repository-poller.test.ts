/**
 * Poll mode's parts: the snapshot diff (pure), and the poller applying what changed on a
 * real directory to a model registry that records what it was asked to do. Polls here are
 * pollOnce calls, so which scan sees what is up to the test; the rule deciding when a
 * change is applied has its own table tests (scan-confirmation.test.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../../src/logger';
import { PolledModels, RepositoryPoller } from '../../../src/engine/control/repository-poller';
import { diffSnapshots, fingerprintModel } from '../../../src/engine/control/repository-snapshot';

describe('diffSnapshots', () => {
  it.each<[string, Record<string, string>, Record<string, string>, object]>([
    ['nothing changed', { a: '1', b: '2' }, { a: '1', b: '2' }, { added: [], modified: [], removed: [] }],
    ['a model added', { a: '1' }, { a: '1', b: '2' }, { added: ['b'], modified: [], removed: [] }],
    ['a model changed', { a: '1', b: '2' }, { a: '1', b: '3' }, { added: [], modified: ['b'], removed: [] }],
    ['a model removed', { a: '1', b: '2' }, { b: '2' }, { added: [], modified: [], removed: ['a'] }],
    ['everything at once, sorted', { z: '1', m: '1', a: '1' }, { m: '2', y: '1', b: '1' }, { added: ['b', 'y'], modified: ['m'], removed: ['a', 'z'] }],
    ['the first scan', {}, { b: '1', a: '1' }, { added: ['a', 'b'], modified: [], removed: [] }],
  ])('reports %s', (_, before, after, expected) => {
    expect(diffSnapshots(new Map(Object.entries(before)), new Map(Object.entries(after)))).toEqual(expected);
  });
});

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-poller-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function write(file: string, contents: string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
  await fs.writeFile(path.join(root, file), contents);
}

describe('fingerprintModel', () => {
  it.each<[string, () => Promise<void>]>([
    ['a rewritten model file', () => write('m/1/model.onnx', 'bytes')],
    ['a new version directory', () => fs.mkdir(path.join(root, 'm', '2'))],
    ['a changed config.pbtxt', () => write('m/config.pbtxt', 'max_batch_size: 4')],
    ['a new warmup file', () => write('m/warmup/input', 'data')],
    ['a removed labels file', () => fs.rm(path.join(root, 'm', 'labels.txt'))],
  ])('changes with %s', async (_, change) => {
    await write('m/1/model.onnx', 'bytes');
    await write('m/config.pbtxt', 'max_batch_size: 8');
    await write('m/labels.txt', 'a\nb\n');
    const before = await fingerprintModel(path.join(root, 'm'));
    // Some file systems keep mtimes in coarse steps; make sure a rewrite gets a new one.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await change();
    expect(await fingerprintModel(path.join(root, 'm'))).not.toBe(before);
  });

  it('stays the same when nothing changed, and ignores dot-files', async () => {
    await write('m/1/model.onnx', 'bytes');
    const before = await fingerprintModel(path.join(root, 'm'));
    await write('m/.config.pbtxt.swp', 'editor state');
    expect(await fingerprintModel(path.join(root, 'm'))).toBe(before);
  });

  it('is undefined for a directory that is gone', async () => {
    expect(await fingerprintModel(path.join(root, 'gone'))).toBeUndefined();
  });
});

/** A registry that records the poller's requests; `failing` names models whose load rejects. */
function recordingModels(failing: string[] = []): PolledModels & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async loadFromRepository(name) {
      calls.push(`load ${name}`);
      if (failing.includes(name)) throw new Error(`cannot load ${name}`);
    },
    async unloadFromRepository(name) {
      calls.push(`unload ${name}`);
    },
  };
}

const ensembleConfig = (name: string, composing: string) =>
  `name: "${name}"\nplatform: "ensemble"\ninput [{ name: "IN" data_type: TYPE_FP32 dims: [1] }]\noutput [{ name: "OUT" data_type: TYPE_FP32 dims: [1] }]\n` +
  `ensemble_scheduling { step [{ model_name: "${composing}" input_map { key: "I" value: "IN" } output_map { key: "O" value: "OUT" } }] }`;

describe('RepositoryPoller', () => {
  const options = () => ({ repository: root, intervalSecs: 0.05, logger: silentLogger });

  it('loads everything on the first poll, then only what two polls agree was added, changed or removed', async () => {
    await write('a/1/model.onnx', 'a');
    await write('b/1/model.onnx', 'b');
    await write('c/1/model.onnx', 'c');
    const models = recordingModels();
    const poller = new RepositoryPoller(models, options());
    await poller.pollOnce();
    expect(models.calls.sort()).toEqual(['load a', 'load b', 'load c']);

    models.calls.length = 0;
    await poller.pollOnce();
    expect(models.calls).toEqual([]);

    await write('d/1/model.onnx', 'd');
    await write('b/config.pbtxt', 'max_batch_size: 2');
    await fs.rm(path.join(root, 'c'), { recursive: true });
    await poller.pollOnce();
    expect(models.calls).toEqual([]);
    await poller.pollOnce();
    expect(models.calls.sort()).toEqual(['load b', 'load d', 'unload c']);
    models.calls.length = 0;
    await poller.pollOnce();
    expect(models.calls).toEqual([]);
    await poller.close();
  });

  it('does not retry a model whose load failed until its files change', async () => {
    await write('bad/1/model.onnx', 'x');
    const models = recordingModels(['bad']);
    const poller = new RepositoryPoller(models, options());
    await poller.pollOnce();
    await poller.pollOnce();
    expect(models.calls).toEqual(['load bad']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await write('bad/1/model.onnx', 'fixed');
    await poller.pollOnce();
    await poller.pollOnce();
    expect(models.calls).toEqual(['load bad', 'load bad']);
    await poller.close();
  });

  it('reloads the ensembles that depend on a model that changed, transitively', async () => {
    await write('base/1/model.onnx', 'x');
    await write('inner/config.pbtxt', ensembleConfig('inner', 'base'));
    await write('outer/config.pbtxt', ensembleConfig('outer', 'inner'));
    await write('other/1/model.onnx', 'y');
    const models = recordingModels();
    const poller = new RepositoryPoller(models, options());
    await poller.pollOnce();
    models.calls.length = 0;
    await write('base/2/model.onnx', 'x2');
    await poller.pollOnce();
    await poller.pollOnce();
    expect(models.calls.sort()).toEqual(['load base', 'load inner', 'load outer']);
    await poller.close();
  });

  it('neither unloads nor reloads a model for a poll between the two renames of a folder swap', async () => {
    await write('m/1/model.onnx', 'old');
    const models = recordingModels();
    const poller = new RepositoryPoller(models, options());
    await poller.pollOnce();
    models.calls.length = 0;
    // Staged under a dot-name, which scans leave out, then swapped in: mv m .m.old; mv .m.new m.
    // A different size: mtimes can fall in one coarse clock tick, which would hide the change.
    await write('.m.new/1/model.onnx', 'new bytes');
    await fs.rename(path.join(root, 'm'), path.join(root, '.m.old'));
    await poller.pollOnce();
    await fs.rename(path.join(root, '.m.new'), path.join(root, 'm'));
    await poller.pollOnce();
    expect(models.calls).toEqual([]);
    await poller.pollOnce();
    expect(models.calls).toEqual(['load m']);
    await poller.pollOnce();
    expect(models.calls).toEqual(['load m']);
    await poller.close();
  });

  it('waits for a half-written file to stop changing before reloading', async () => {
    await write('m/1/model.onnx', 'bytes');
    await write('m/config.pbtxt', 'max_batch_size: 8');
    const models = recordingModels();
    const poller = new RepositoryPoller(models, options());
    await poller.pollOnce();
    models.calls.length = 0;
    // Rewritten in place (to a new size, as mtimes can share a coarse clock tick): truncated
    // first, then written in pieces, a poll landing after each.
    await fs.writeFile(path.join(root, 'm', 'config.pbtxt'), '');
    await poller.pollOnce();
    await fs.appendFile(path.join(root, 'm', 'config.pbtxt'), 'max_batch');
    await poller.pollOnce();
    await fs.appendFile(path.join(root, 'm', 'config.pbtxt'), '_size: 16');
    await poller.pollOnce();
    expect(models.calls).toEqual([]);
    await poller.pollOnce();
    expect(models.calls).toEqual(['load m']);
    await poller.close();
  });

  it('reloads a dependent ensemble caught mid-swap once its own folder settles', async () => {
    await write('base/1/model.onnx', 'x');
    await write('ens/config.pbtxt', ensembleConfig('ens', 'base'));
    const models = recordingModels();
    const poller = new RepositoryPoller(models, options());
    await poller.pollOnce();
    models.calls.length = 0;
    await write('base/2/model.onnx', 'x2');
    await poller.pollOnce();
    // The ensemble's folder is away (mid-swap) when base's change is confirmed.
    await fs.rename(path.join(root, 'ens'), path.join(root, '.ens-away'));
    await poller.pollOnce();
    expect(models.calls).toEqual(['load base']);
    // Back unchanged: it is still owed the reload against the new base, once two polls agree.
    await fs.rename(path.join(root, '.ens-away'), path.join(root, 'ens'));
    await poller.pollOnce();
    expect(models.calls).toEqual(['load base']);
    await poller.pollOnce();
    expect(models.calls).toEqual(['load base', 'load ens']);
    await poller.close();
  });

  it('fails the first poll when the repository cannot be read', async () => {
    const poller = new RepositoryPoller(recordingModels(), { ...options(), repository: path.join(root, 'missing') });
    await expect(poller.pollOnce()).rejects.toThrow('is not a readable directory');
  });

  it('polls on its own once started, and not after close', async () => {
    // The poll timer runs on fake time; the scans' file I/O is real. A poll is over when the
    // poller has set its next timer (or, once closed, would have).
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const intervalMs = options().intervalSecs * 1000;
      const models = recordingModels();
      const poller = new RepositoryPoller(models, options());
      await poller.pollOnce();
      poller.start();
      expect(jest.getTimerCount()).toBe(1);
      await write('late/1/model.onnx', 'x');
      const nextPoll = async (): Promise<void> => {
        jest.advanceTimersByTime(intervalMs);
        while (jest.getTimerCount() === 0) await new Promise((resolve) => setImmediate(resolve));
      };
      await nextPoll(); // sees 'late' once: waits for a second scan to agree
      expect(models.calls).toEqual([]);
      await nextPoll();
      expect(models.calls).toEqual(['load late']);
      await poller.close();
      expect(jest.getTimerCount()).toBe(0);
      await write('later/1/model.onnx', 'x');
      jest.advanceTimersByTime(10 * intervalMs);
      expect(jest.getTimerCount()).toBe(0);
      expect(models.calls).toEqual(['load late']);
    } finally {
      jest.useRealTimers();
    }
  });

});
