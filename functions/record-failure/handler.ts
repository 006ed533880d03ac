import { loadRecordFailureConfig } from '../shared/config.ts';
import { createS3Client, storesFor } from '../shared/s3-store.ts';
import { createRecordFailureHandler } from './record-failure.ts';

const config = loadRecordFailureConfig(process.env);
export const handler = createRecordFailureHandler({ storeFor: storesFor(createS3Client(config)) });
