import { fnv1a, hashedFeatures, messageFeatures, messageParts, tokenize, writeDense } from '../../tools/train/text-features';

describe('messageParts', () => {
  it.each([
    ['an e-mail: the Subject header and the body', 'From: a@b.c\nSubject: Hello there\nTo: d@e.f\n\nBody text\nmore', { subject: 'Hello there', body: 'Body text\nmore' }],
    ['a folded subject, unfolded', 'Subject: part one\n  part two\nX-Other: 1\n\nbody', { subject: 'part one part two', body: 'body' }],
    ['CRLF line ends', 'Subject: crlf\r\nFrom: x\r\n\r\nthe body', { subject: 'crlf', body: 'the body' }],
    ['an mbox "From " line first', 'From someone  Tue Aug  6 11:17:22 2002\nSubject: s\n\nb', { subject: 's', body: 'b' }],
    ['plain text: all body', 'Just some words.\n\nAnd a second paragraph.', { subject: '', body: 'Just some words.\n\nAnd a second paragraph.' }],
    ['headers without a body', 'Subject: only headers', { subject: 'only headers', body: '' }],
  ])('reads %s', (_, raw, expected) => {
    expect(messageParts(raw)).toEqual(expected);
  });
});

describe('tokenize', () => {
  it('lower-cases, keeps $ and !, splits on the rest, and marks subject words', () => {
    expect(tokenize({ subject: 'FREE money', body: 'Win $1,000 now!!! Café-au-lait' })).toEqual([
      'subject:free',
      'subject:money',
      'win',
      '$1',
      '000',
      'now!!!',
      'café',
      'au',
      'lait',
    ]);
  });

  it('drops tokens longer than 40 characters (base64 lines, hashes)', () => {
    expect(tokenize({ subject: '', body: `${'a'.repeat(41)} short` })).toEqual(['short']);
  });
});

describe('hashedFeatures', () => {
  it('puts log-scaled counts in hash buckets and normalises the vector to length 1', () => {
    const v = hashedFeatures(['a', 'a', 'b'], 1 << 20);
    const counts = new Map([[fnv1a('a') % (1 << 20), 1 + Math.log(2)], [fnv1a('b') % (1 << 20), 1]]);
    const norm = Math.hypot(...counts.values());
    expect(Array.from(v.indices)).toEqual([...counts.keys()].sort((x, y) => x - y));
    v.indices.forEach((index, k) => expect(v.values[k]).toBeCloseTo(counts.get(index)! / norm, 12));
  });

  it('gives an empty vector for no tokens, and the same vector for the same text', () => {
    expect(hashedFeatures([], 16).indices).toHaveLength(0);
    expect(messageFeatures('Subject: x\n\nsame text', 64)).toEqual(messageFeatures('Subject: x\n\nsame text', 64));
  });

  it('hashes with FNV-1a (32 bits)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });
});

describe('writeDense', () => {
  it('fills a model input row, clearing what was there', () => {
    const out = writeDense({ indices: Int32Array.of(1, 3), values: Float64Array.of(0.5, 0.25) }, Float32Array.of(9, 9, 9, 9));
    expect(Array.from(out)).toEqual([0, 0.5, 0, 0.25]);
  });
});
