import { describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../shared/errors.ts';
import { prepareOrderSubscription } from '../../../test/support/order-subscription.ts';
import { shape } from './shaped.ts';

const ORDER = '0b6f3f52-3c1e-4f5e-9a55-2f1d4b7e8a10';
const prepared = prepareOrderSubscription(
  `subscription { live: orderStatusChanged(orderId: "${ORDER}") { id note } }`,
  {},
);

describe('shape', () => {
  it('splits the hidden sequence and status off what the client is sent', () => {
    const order = { id: ORDER, note: 'n', [prepared.sequenceKey]: 3, [prepared.statusKey]: 'CONFIRMED' };
    expect(shape({ data: { live: order } }, prepared)).toEqual({
      ok: true,
      sequence: 3,
      status: 'CONFIRMED',
      result: { data: { live: { id: ORDER, note: 'n' } } },
    });
  });

  it('keeps partial errors next to the data', () => {
    const errors = [{ message: 'stock unavailable', path: ['live', 'note'] }];
    const order = { id: ORDER, note: null, [prepared.sequenceKey]: 1, [prepared.statusKey]: 'PENDING' };
    expect(shape({ data: { live: order }, errors }, prepared)).toMatchObject({
      ok: true,
      result: { errors },
    });
  });

  it('makes a null order NOT_FOUND, unless the result says why', () => {
    expect(shape({ data: { live: null } }, prepared)).toEqual({
      ok: false,
      errors: [{ message: `Order ${ORDER} was not found`, extensions: { code: ErrorCode.NOT_FOUND } }],
    });
    const errors = [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }];
    expect(shape({ data: null, errors }, prepared)).toEqual({ ok: false, errors });
  });
});
