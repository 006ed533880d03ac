/**
 * `npx tsx scripts/ffmpeg-layer.ts`: builds layers/ffmpeg/bin/ffmpeg on its own (sls package does it too, through
 * scripts/lib/serverless-ffmpeg-layer.ts). FFMPEG_LAYER_BINARY chooses another source binary.
 */
import { buildFfmpegLayer, defaultFfmpegSource, LAYER_DIR } from './lib/ffmpeg-layer.ts';

try {
  const layer = buildFfmpegLayer(defaultFfmpegSource(process.cwd()), LAYER_DIR);
  console.log(`${layer.binary} ← ${layer.source} (${(layer.bytes / 1e6).toFixed(1)} MB, ${layer.elf.machineName})`);
  if (layer.elf.dynamic) {
    console.warn(`Warning: ${layer.source} is dynamically linked; Lambda lacks its shared libraries (fine for a test stand-in only).`);
  }
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
