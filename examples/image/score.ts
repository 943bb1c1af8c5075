/**
 * The image example's score module: background removal with ISNet, in raw mode.
 *
 *   curl --data-binary @photo.jpg -H 'content-type: image/jpeg' localhost:5001/score -o cutout.png
 *   curl --data-binary @photo.jpg 'localhost:5001/score?output=mask' -o mask.png
 *
 * The body is the image itself (anything sharp decodes: JPEG, PNG, WebP, AVIF, TIFF, GIF).
 * run() decodes it with sharp (EXIF orientation applied), resizes it to the network's
 * 1024×1024 RGB and normalises it ((value - 128) / 256, as the network was trained); the
 * engine runs ISNet, batching uploads that arrive together; run() scales the predicted
 * alpha mask back to the image's size and answers with a PNG: the cut-out (the image with
 * the mask as its alpha channel, the default) or the mask alone (`?output=mask`).
 */
import sharp from 'sharp';
import type { InitContext, RunContext } from 'scoreline';
import { InferInput, InferRequestedOutput, type InferenceServerClient } from 'scoreline/client';

export const rawHttp = true;

const MODEL = 'isnet';
const INPUT = 'input';
const OUTPUT = 'output';
const SIDE = 1024;
const OUTPUTS = ['cutout', 'mask'] as const;

let client: InferenceServerClient;

export async function init(context: InitContext): Promise<void> {
  if (context.client === undefined) {
    throw new Error('the image example needs the engine: serve it with --model-repository examples/image/model_repository');
  }
  client = context.client;
  if (!(await client.isModelReady(MODEL))) throw new Error(`model '${MODEL}' is not ready: run node dist/examples/image/make-image-repository.js first`);
}

export async function run(request: Request, context: RunContext): Promise<Response> {
  if (request.method !== 'POST') {
    return message(405, 'POST an image (JPEG, PNG, WebP, ...) to /score; add ?output=mask for the mask alone', { allow: 'POST' });
  }
  const output = new URL(request.url).searchParams.get('output') ?? 'cutout';
  if (!(OUTPUTS as readonly string[]).includes(output)) return message(400, `output must be ${OUTPUTS.join(' or ')}, got '${output}'`);
  const body = Buffer.from(await request.arrayBuffer());
  if (body.length === 0) return message(400, 'the request body must be an image');

  let image: { data: Buffer; info: sharp.OutputInfo };
  try {
    image = await sharp(body).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    return message(400, `the body is not an image sharp can decode: ${(err as Error).message}`);
  }
  const { width, height } = image.info;
  const rgb = { raw: { width, height, channels: 3 as const } };

  const resized = await sharp(image.data, rgb).resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer();
  const input = new InferInput(INPUT, [1, 3, SIDE, SIDE], 'FP32').setData(toPlanar(resized));
  const result = await client.infer(MODEL, [input], { outputs: [new InferRequestedOutput(OUTPUT)], signal: context.signal });

  const mask = toBytes(result.asTypedArray<Float32Array>(OUTPUT));
  // 'b-w' keeps one channel: sharp would otherwise hand back sRGB, three bytes a pixel.
  const alpha = await sharp(mask, { raw: { width: SIDE, height: SIDE, channels: 1 } })
    .resize(width, height, { fit: 'fill' })
    .toColourspace('b-w')
    .raw()
    .toBuffer();
  const gray = { raw: { width, height, channels: 1 as const } };
  const png =
    output === 'mask'
      ? await sharp(alpha, gray).toColourspace('b-w').png().toBuffer()
      : await sharp(image.data, rgb).joinChannel(alpha, gray).png().toBuffer();
  return new Response(new Uint8Array(png), { headers: { 'content-type': 'image/png', 'x-image-size': `${width}x${height}` } });
}

/** Interleaved RGB bytes (HWC) → planar float32 (CHW), normalised as ISNet was trained. */
function toPlanar(rgb: Buffer): Float32Array {
  const plane = SIDE * SIDE;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = (rgb[i * 3]! - 128) / 256;
    out[plane + i] = (rgb[i * 3 + 1]! - 128) / 256;
    out[2 * plane + i] = (rgb[i * 3 + 2]! - 128) / 256;
  }
  return out;
}

/** The mask's probabilities in [0, 1] → alpha bytes. */
function toBytes(mask: Float32Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, mask[i]!)) * 255);
  return out;
}

function message(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ message: text }), { status, headers: { 'content-type': 'application/json', ...headers } });
}
