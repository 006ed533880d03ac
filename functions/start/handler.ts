import { loadStartConfig } from '../shared/config.ts';
import { lambdaLogger, logInvocations } from '../shared/lambda-log.ts';
import { createSfnClient } from '../shared/sfn.ts';
import { createStartHandler } from './start.ts';

const config = loadStartConfig(process.env);
const { logger, log } = lambdaLogger('start');
export const handler = logInvocations(logger, createStartHandler({ sfn: createSfnClient(config), stateMachineArn: config.STATE_MACHINE_ARN, log }));
