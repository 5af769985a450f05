// Entry of the gateway: configuration and signals only.
import { runService } from '../../shared/process.ts';
import { readGatewayConfig } from './config.ts';
import { startGateway } from './server.ts';

await runService('gateway', (logger) => startGateway(readGatewayConfig(), logger));
