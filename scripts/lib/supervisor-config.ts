// The supervision settings of `npm start`, from its environment (the defaults of
// supervisor-policy.ts unless set). SUPERVISOR_CRASH_LOOP_EXITS=1 gives up at the first exit,
// that is: no restarts.

import { readInt } from '../../shared/config.ts';
import { DEFAULT_SUPERVISION, RestartPolicy, type SupervisionSettings } from './supervisor-policy.ts';

type Env = Readonly<Record<string, string | undefined>>;

const HOUR_MS = 3_600_000;

export function readSupervisionSettings(env: Env): SupervisionSettings {
  const d = DEFAULT_SUPERVISION;
  const initialDelayMs = readInt(env, 'SUPERVISOR_RESTART_DELAY_MS', d.initialDelayMs, 0, HOUR_MS);
  const settings: SupervisionSettings = {
    initialDelayMs,
    maxDelayMs: readInt(
      env,
      'SUPERVISOR_RESTART_DELAY_MAX_MS',
      Math.max(d.maxDelayMs, initialDelayMs),
      initialDelayMs,
      HOUR_MS,
    ),
    healthyAfterMs: readInt(env, 'SUPERVISOR_HEALTHY_AFTER_MS', d.healthyAfterMs, 0, 24 * HOUR_MS),
    crashLoopExits: readInt(env, 'SUPERVISOR_CRASH_LOOP_EXITS', d.crashLoopExits, 1, 1000),
    crashLoopWindowMs: readInt(env, 'SUPERVISOR_CRASH_LOOP_WINDOW_MS', d.crashLoopWindowMs, 1, 24 * HOUR_MS),
  };
  return new RestartPolicy(settings).settings;
}
