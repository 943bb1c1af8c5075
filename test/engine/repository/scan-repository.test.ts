import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, InvalidOptionError, ModelLoadError, ModelNotFoundError } from '../../../src/errors';
import {
  listModelNames,
  readLabels,
  resolveModelPath,
  scanModelDirectory,
  scanRepository,
  selectVersions,
  versionsWithModelFile,
} from '../../../src/engine/repository/scan-repository';

let root: string;

/** Creates `files` (path → contents; a trailing '/' makes a directory) under `base`. */
async function layout(base: string, files: Record<string, string>): Promise<void> {
  for (const [rel, contents] of Object.entries(files)) {
    const full = path.join(base, rel);
    if (rel.endsWith('/')) {
      await fs.mkdir(full, { recursive: true });
    } else {
      await fs.mkdir(path.dirname(full), { recursive: true });
      await fs.writeFile(full, contents);
    }
  }
}

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-repo-'));
  await layout(root, {
    'add_sub/config.pbtxt': 'name: "add_sub"\nmax_batch_size: 8\n',
    'add_sub/labels.txt': 'cat\ndog\n',
    'add_sub/1/model.onnx': 'onnx',
    'add_sub/2/model.onnx': 'onnx',
    'add_sub/10/model.onnx': 'onnx',
    'add_sub/3/': '',
    'add_sub/01/model.onnx': 'leading zero: ignored',
    'add_sub/0/model.onnx': 'zero: ignored',
    'add_sub/latest/model.onnx': 'not numeric: ignored',
    'add_sub/4': 'a file, not a directory: ignored',
    'bare/1/model.onnx': 'onnx',
    'custom/config.pbtxt': 'default_model_filename: "net.onnx" # the file in each version\n',
    'custom/1/net.onnx': 'onnx',
    'custom/2/model.onnx': 'onnx',
    'custom/3/net.onnx/model.onnx': 'an ONNX model directory',
    'broken/config.pbtxt': 'input [ {',
    'broken/1/model.onnx': 'onnx',
    '.hidden/1/model.onnx': 'ignored',
    'README.md': 'a file at the root: ignored',
  });
  await fs.symlink(path.join(root, 'bare'), path.join(root, 'linked'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('scanRepository', () => {
  it('lists every model directory, sorted, without hidden directories or files', async () => {
    const models = await scanRepository(root);
    expect(models.map((m) => m.name)).toEqual(['add_sub', 'bare', 'broken', 'custom', 'linked']);
    expect(await listModelNames(root)).toEqual(['add_sub', 'bare', 'broken', 'custom', 'linked']);
  });

  it('reads the config text and only the numeric version directories', async () => {
    const model = await scanModelDirectory(root, 'add_sub');
    expect(model.path).toBe(path.join(root, 'add_sub'));
    expect(model.configText).toBe('name: "add_sub"\nmax_batch_size: 8\n');
    expect(model.versions.map((v) => v.version)).toEqual([1, 2, 3, 10]);
    expect(model.versions[0]).toEqual({ version: 1, path: path.join(root, 'add_sub', '1'), files: ['model.onnx'] });
    expect(model.modelFileName).toBe('model.onnx');
    expect(model.modelVersions).toEqual([1, 2, 10]);
  });

  it('reports no config text for a model without config.pbtxt', async () => {
    const model = await scanModelDirectory(root, 'bare');
    expect(model.configText).toBeUndefined();
    expect(model.modelVersions).toEqual([1]);
  });

  it("finds the versions holding the config's default_model_filename", async () => {
    const model = await scanModelDirectory(root, 'custom');
    expect(model.modelFileName).toBe('net.onnx');
    expect(model.modelVersions).toEqual([1, 3]);
    expect(versionsWithModelFile(model.versions)).toEqual([2]);
    expect(versionsWithModelFile(model.versions, 'net.onnx')).toEqual([1, 3]);
  });

  it('still lists a model whose config does not parse, for its load to report', async () => {
    const model = await scanModelDirectory(root, 'broken');
    expect(model.configText).toBe('input [ {');
    expect(model.modelVersions).toEqual([1]);
  });

  it('follows a symlinked model directory', async () => {
    const model = await scanModelDirectory(root, 'linked');
    expect(model.versions.map((v) => v.version)).toEqual([1]);
  });

  it('says which model is missing', async () => {
    await expect(scanModelDirectory(root, 'nope')).rejects.toThrow(new ModelNotFoundError("model 'nope' is not in the model repository"));
    await expect(scanModelDirectory(root, 'README.md')).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it('rejects a repository that is not a directory', async () => {
    const missing = path.join(root, 'no-such-dir');
    await expect(scanRepository(missing)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(scanRepository(missing)).rejects.toThrow(`model repository '${missing}' is not a readable directory`);
  });

  it('refuses a model name that escapes the repository', async () => {
    await expect(scanModelDirectory(root, '../etc')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('selectVersions', () => {
  it.each<[string, number[], Parameters<typeof selectVersions>[1], number[]]>([
    ['no policy serves the latest version', [1, 3, 2], undefined, [3]],
    ['latest by default serves one version', [1, 3, 2], { latest: {} }, [3]],
    ['latest { num_versions: 2 } serves the two highest', [5, 1, 10, 2], { latest: { num_versions: 2 } }, [5, 10]],
    ['latest with more versions than exist serves all', [1, 2], { latest: { num_versions: 5 } }, [1, 2]],
    ['all serves every version', [3, 1, 2], { all: {} }, [1, 2, 3]],
    ['specific serves the listed ones', [1, 2, 3], { specific: { versions: [3, 1] } }, [1, 3]],
    ['latest of nothing is nothing', [], { latest: { num_versions: 1 } }, []],
    ['all of nothing is nothing', [], { all: {} }, []],
    ['duplicates count once', [2, 2, 1], { all: {} }, [1, 2]],
  ])('%s', (_name, available, policy, expected) => {
    expect(selectVersions(available, policy)).toEqual(expected);
  });

  it.each<[number[], number[], string]>([
    [[1, 2], [3], "model 'm': version policy lists version 3, which does not exist (available: 1, 2)"],
    [[1], [1, 4, 5], "model 'm': version policy lists versions 4, 5, which do not exist (available: 1)"],
    [[], [1], "model 'm': version policy lists version 1, which does not exist (available: none)"],
  ])('with %j available, specific %j names the missing versions', (available, versions, message) => {
    expect(() => selectVersions(available, { specific: { versions } }, 'm')).toThrow(new ModelLoadError(message));
  });
});

describe('resolveModelPath', () => {
  it.each(['simple', 'add_sub', 'my.model', 'a..b', '..hidden', 'v1.2', 'モデル'])('accepts %j', (name) => {
    expect(resolveModelPath('/models', name)).toBe(path.join('/models', name));
  });

  it.each(['', '.', '..', '../x', 'a/b', '/etc', 'a\\b', '..\\..\\x', 'x\0y', 'a/../b'])('rejects %j', (name) => {
    expect(() => resolveModelPath('/models', name)).toThrow(InvalidArgumentError);
  });

  it('says why a name is rejected', () => {
    expect(() => resolveModelPath('/models', '../secrets')).toThrow(
      `invalid model name "../secrets": a model name must not be '.' or '..' or contain '/', '\\' or NUL`,
    );
    expect(() => resolveModelPath('/models', '')).toThrow('invalid model name "": a model name must not be empty');
  });
});

describe('readLabels', () => {
  it.each<[string, string, string[]]>([
    ['one label per line', 'cat\ndog\n', ['cat', 'dog']],
    ['no final newline', 'cat\ndog', ['cat', 'dog']],
    ['Windows line ends', 'cat\r\ndog\r\n', ['cat', 'dog']],
    ['an empty line in the middle, kept so indexes stay right', 'cat\n\nbird\n', ['cat', '', 'bird']],
    ['spaces inside labels', 'tabby cat\n  dog  \n', ['tabby cat', '  dog  ']],
    ['an empty file', '', []],
  ])('reads %s', async (_name, contents, expected) => {
    const file = path.join(root, `labels-${expected.length}-${contents.length}.txt`);
    await fs.writeFile(file, contents);
    expect(await readLabels(file)).toEqual(expected);
  });

  it('names the model and the file it cannot read, not its absolute path or errno name (the cause has those)', async () => {
    const file = path.join(root, 'add_sub', 'missing.txt');
    const error = await readLabels(file, 'add_sub').catch((err: unknown) => err as Error);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toBe("model 'add_sub': label file 'missing.txt': not found");
    expect(String((error as Error).cause)).toMatch(/ENOENT/);
  });
});
