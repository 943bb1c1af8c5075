/**
 * Poll mode's two-agreeing-scans rule, fed snapshots by hand: no file system, no timers.
 * A table row is a sequence of scans (model → fingerprint); the first is the start-up
 * scan, and each later one lists what the poller is to do after it: +m load a new model,
 * ~m reload a changed one, -m unload a removed one.
 */
import { RepositoryChanges } from '../../../src/engine/control/repository-snapshot';
import { ScanConfirmation } from '../../../src/engine/control/scan-confirmation';

type Scan = Record<string, string>;

const snapshot = (scan: Scan) => new Map(Object.entries(scan));

const actions = (changes: RepositoryChanges) => [
  ...changes.added.map((name) => `+${name}`),
  ...changes.modified.map((name) => `~${name}`),
  ...changes.removed.map((name) => `-${name}`),
];

/** The actions after each scan but the first. */
function run(scans: Scan[]): string[][] {
  const confirmation = new ScanConfirmation();
  confirmation.accept(snapshot(scans[0]));
  return scans.slice(1).map((scan) => actions(confirmation.observe(snapshot(scan))));
}

describe('ScanConfirmation', () => {
  it.each<[string, Scan[], string[][]]>([
    ['nothing changing', [{ a: '1' }, { a: '1' }, { a: '1' }], [[], []]],
    ['a change, once two scans agree', [{ a: '1' }, { a: '2' }, { a: '2' }], [[], ['~a']]],
    ['a removal, once two scans agree', [{ a: '1', b: '1' }, { b: '1' }, { b: '1' }], [[], ['-a']]],
    ['a new model, once two scans agree', [{}, { a: '1' }, { a: '1' }], [[], ['+a']]],
    // mv a a.old; mv a.new a, with a scan between the renames: one reload, no unload.
    ['a folder swap caught between its renames, as one change', [{ a: '1' }, {}, { a: '2' }, { a: '2' }], [[], [], ['~a']]],
    ['a swap through a.old in the repository, removed before the next scan', [{ a: '1' }, { 'a.old': '1' }, { a: '2' }, { a: '2' }], [[], [], ['~a']]],
    ['a folder swapped back to the same files, as nothing', [{ a: '1' }, {}, { a: '1' }, { a: '1' }], [[], [], []]],
    ['a file still being written, once it stops changing', [{ a: '1' }, { a: '2' }, { a: '3' }, { a: '4' }, { a: '4' }], [[], [], [], ['~a']]],
    ['a new model still being copied in, once it stops changing', [{}, { a: '1' }, { a: '2' }, { a: '2' }], [[], [], ['+a']]],
    ['a staging folder a.new renamed into place before the next scan: a.new never loads', [{ a: '1' }, { a: '1', 'a.new': '2' }, { a: '2' }, { a: '2' }], [[], [], ['~a']]],
    ['a directory that never looks the same twice, as nothing', [{ a: '1' }, {}, { a: '2' }, {}, { a: '2' }], [[], [], [], []]],
    ['a flapping directory, once it holds still', [{ a: '1' }, {}, { a: '2' }, {}, { a: '2' }, { a: '2' }], [[], [], [], [], ['~a']]],
    ['a removal confirmed, then the model back with new files', [{ a: '1' }, {}, {}, { a: '2' }, { a: '2' }], [[], ['-a'], [], ['+a']]],
    ['models confirmed independently', [{ a: '1', b: '1' }, { a: '2' }, { a: '2', b: '1' }, { a: '3', b: '1' }, { a: '3', b: '1' }], [[], ['~a'], [], ['~a']]],
    ['every kind of change in the same scan, sorted', [{ z: '1', m: '1', a: '1' }, { m: '2', y: '1', b: '1' }, { m: '2', y: '1', b: '1' }], [[], ['+b', '+y', '~m', '-a', '-z']]],
  ])('acts on %s', (_, scans, expected) => {
    expect(run(scans)).toEqual(expected);
  });

  it('takes the start-up scan as it is: everything in it loads at once', () => {
    const confirmation = new ScanConfirmation();
    expect(confirmation.accept(snapshot({ b: '1', a: '1' }))).toEqual({ added: ['a', 'b'], modified: [], removed: [] });
    expect(confirmation.appliedNames).toEqual(['a', 'b']);
    expect(confirmation.waiting).toEqual([]);
  });

  it('says which models wait for the next scan, and what has been applied', () => {
    const confirmation = new ScanConfirmation();
    confirmation.accept(snapshot({ a: '1', b: '1' }));
    confirmation.observe(snapshot({ a: '2', c: '1' }));
    expect(confirmation.waiting).toEqual(['a', 'b', 'c']);
    expect(confirmation.isWaiting('b')).toBe(true);
    expect(confirmation.appliedNames).toEqual(['a', 'b']);
    confirmation.observe(snapshot({ a: '2', b: '1', c: '1' }));
    expect(confirmation.waiting).toEqual([]);
    expect(confirmation.isWaiting('b')).toBe(false);
    expect(confirmation.appliedNames).toEqual(['a', 'b', 'c']);
  });

  describe('reloadWhenSettled', () => {
    it('reloads a model caught mid-swap once it settles, even back to the same files', () => {
      const confirmation = new ScanConfirmation();
      confirmation.accept(snapshot({ ensemble: '1', base: '1' }));
      expect(actions(confirmation.observe(snapshot({ base: '1' })))).toEqual([]);
      confirmation.reloadWhenSettled('ensemble');
      expect(actions(confirmation.observe(snapshot({ ensemble: '1', base: '1' })))).toEqual([]);
      expect(actions(confirmation.observe(snapshot({ ensemble: '1', base: '1' })))).toEqual(['~ensemble']);
      expect(actions(confirmation.observe(snapshot({ ensemble: '1', base: '1' })))).toEqual([]);
    });

    it('still unloads a model whose removal two scans agree on', () => {
      const confirmation = new ScanConfirmation();
      confirmation.accept(snapshot({ ensemble: '1' }));
      confirmation.observe(snapshot({}));
      confirmation.reloadWhenSettled('ensemble');
      expect(actions(confirmation.observe(snapshot({})))).toEqual(['-ensemble']);
    });

    it('reloads a settled model after two more agreeing scans', () => {
      const confirmation = new ScanConfirmation();
      confirmation.accept(snapshot({ ensemble: '1' }));
      confirmation.reloadWhenSettled('ensemble');
      expect(actions(confirmation.observe(snapshot({ ensemble: '1' })))).toEqual([]);
      expect(actions(confirmation.observe(snapshot({ ensemble: '1' })))).toEqual(['~ensemble']);
    });

    it('does nothing for a model never applied', () => {
      const confirmation = new ScanConfirmation();
      confirmation.accept(snapshot({}));
      confirmation.reloadWhenSettled('ghost');
      expect(confirmation.appliedNames).toEqual([]);
      expect(actions(confirmation.observe(snapshot({})))).toEqual([]);
    });
  });
});
