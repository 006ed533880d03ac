import { resolveFfmpeg } from '#core/ffmpeg';
import { loadPreprocessConfig } from '../shared/config.ts';
import { createS3Client, storesFor } from '../shared/s3-store.ts';
import { createPreprocessHandler } from './preprocess.ts';

const config = loadPreprocessConfig(process.env);
export const handler = createPreprocessHandler({
  storeFor: storesFor(createS3Client(config)),
  ffmpeg: resolveFfmpeg(process.env),
  limits: { maxUploadBytes: config.MAX_UPLOAD_BYTES, maxDurationSec: config.MAX_DURATION_SEC, minDurationSec: config.MIN_DURATION_SEC },
});
