import { resolveFfmpeg } from '#core/ffmpeg';
import { loadPreprocessConfig } from '../shared/config.ts';
import { lambdaLogger, logInvocations } from '../shared/lambda-log.ts';
import { createS3Client, storesFor } from '../shared/s3-store.ts';
import { createPreprocessHandler } from './preprocess.ts';

const config = loadPreprocessConfig(process.env);
const { logger } = lambdaLogger('preprocess');
export const handler = logInvocations(logger, createPreprocessHandler({
  storeFor: storesFor(createS3Client(config)),
  ffmpeg: resolveFfmpeg(process.env),
  limits: { maxUploadBytes: config.MAX_UPLOAD_BYTES, maxDurationSec: config.MAX_DURATION_SEC, minDurationSec: config.MIN_DURATION_SEC },
}));
