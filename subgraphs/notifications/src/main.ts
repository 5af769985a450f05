// Entry of the notifications subgraph: configuration and signals only.
import { runService } from '../../../shared/process.ts';
import { readNotificationsConfig } from './config.ts';
import { startNotifications } from './server.ts';

await runService('notifications', (logger) => startNotifications(readNotificationsConfig(), logger));
