import { describe, expect, it } from '@jest/globals';
import { readSupervisionSettings } from './supervisor-config.ts';
import { DEFAULT_SUPERVISION } from './supervisor-policy.ts';

describe('readSupervisionSettings', () => {
  it('uses the defaults when nothing is set', () => {
    expect(readSupervisionSettings({})).toEqual(DEFAULT_SUPERVISION);
  });

  it('reads every setting', () => {
    expect(
      readSupervisionSettings({
        SUPERVISOR_RESTART_DELAY_MS: '100',
        SUPERVISOR_RESTART_DELAY_MAX_MS: '800',
        SUPERVISOR_HEALTHY_AFTER_MS: '5000',
        SUPERVISOR_CRASH_LOOP_EXITS: '3',
        SUPERVISOR_CRASH_LOOP_WINDOW_MS: '20000',
      }),
    ).toEqual({
      initialDelayMs: 100,
      maxDelayMs: 800,
      healthyAfterMs: 5000,
      crashLoopExits: 3,
      crashLoopWindowMs: 20_000,
    });
  });

  it('refuses values that make no sense, naming the variable', () => {
    expect(() => readSupervisionSettings({ SUPERVISOR_CRASH_LOOP_EXITS: '0' })).toThrow(
      /SUPERVISOR_CRASH_LOOP_EXITS/,
    );
    expect(() =>
      readSupervisionSettings({ SUPERVISOR_RESTART_DELAY_MS: '5000', SUPERVISOR_RESTART_DELAY_MAX_MS: '10' }),
    ).toThrow(/SUPERVISOR_RESTART_DELAY_MAX_MS/);
    expect(() => readSupervisionSettings({ SUPERVISOR_HEALTHY_AFTER_MS: 'soon' })).toThrow(
      /SUPERVISOR_HEALTHY_AFTER_MS/,
    );
  });
});
