import { describe, expect, it } from '@jest/globals';
import { planResume } from './resume.ts';

describe('planResume', () => {
  it('catches up on every change after afterSequence, then follows live', () => {
    expect(planResume(1, { sequence: 4, status: 'CONFIRMED' })).toEqual({ kind: 'follow', last: 1 });
    expect(planResume(0, { sequence: 6, status: 'DELIVERED' })).toEqual({ kind: 'follow', last: 0 });
  });

  it('follows live only when afterSequence is the current sequence', () => {
    expect(planResume(4, { sequence: 4, status: 'CONFIRMED' })).toEqual({ kind: 'follow', last: 4 });
  });

  it('completes at once when the order already ended at afterSequence', () => {
    expect(planResume(6, { sequence: 6, status: 'DELIVERED' })).toEqual({ kind: 'complete' });
    expect(planResume(3, { sequence: 3, status: 'CANCELLED' })).toEqual({ kind: 'complete' });
  });

  it('refuses a sequence the order has not reached, or a negative one', () => {
    expect(planResume(5, { sequence: 4, status: 'CONFIRMED' })).toMatchObject({ kind: 'refuse' });
    expect(planResume(-1, { sequence: 4, status: 'CONFIRMED' })).toMatchObject({ kind: 'refuse' });
  });
});
