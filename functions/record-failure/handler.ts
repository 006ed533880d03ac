import { loadRecordFailureConfig } from '../shared/config.ts';
import { lambdaLogger, logInvocations } from '../shared/lambda-log.ts';
import { createS3Client, storesFor } from '../shared/s3-store.ts';
import { createRecordFailureHandler } from './record-failure.ts';

const config = loadRecordFailureConfig(process.env);
const { logger } = lambdaLogger('record-failure');
export const handler = logInvocations(logger, createRecordFailureHandler({ storeFor: storesFor(createS3Client(config)) }));
