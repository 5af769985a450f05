// Entry of the payments subgraph: configuration and signals only.
import { readInt, readSubgraphConfig } from '../../../shared/config.ts';
import { runService } from '../../../shared/process.ts';
import { startPayments } from './server.ts';

await runService('payments', (logger) =>
  startPayments(
    {
      ...readSubgraphConfig('payments', 4005),
      flakyFailures: readInt(process.env, 'SIMULATED_PROVIDER_FLAKY_FAILURES', 2, 0, 100),
    },
    logger,
  ),
);
