import { loadStartConfig } from '../shared/config.ts';
import { createSfnClient } from '../shared/sfn.ts';
import { createStartHandler } from './start.ts';

const config = loadStartConfig(process.env);
export const handler = createStartHandler({ sfn: createSfnClient(config), stateMachineArn: config.STATE_MACHINE_ARN });
