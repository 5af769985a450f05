import { describe, expect, it } from '@jest/globals';
import { connectionOptions, serverAddress } from './connection-options.ts';
import { KEEP_ALIVE } from './keep-alive.ts';

describe('connectionOptions', () => {
  it('bounds the connect and keeps connections alive', () => {
    expect(connectionOptions('postgres://u:p@db:5433/orders', 2500)).toEqual({
      connectionString: 'postgres://u:p@db:5433/orders',
      connectionTimeoutMillis: 2500,
      ...KEEP_ALIVE,
    });
  });

  it("keeps the URL's parameters and puts its own options after the keep-alive ones", () => {
    const options = connectionOptions(
      'postgres://db/orders?sslmode=require&options=-c%20statement_timeout%3D5s&application_name=orders',
      5000,
    );
    expect(options.connectionString).toBe('postgres://db/orders?sslmode=require&application_name=orders');
    expect(options.options).toBe(`${KEEP_ALIVE.options} -c statement_timeout=5s`);
  });
});

describe('serverAddress', () => {
  it('names the host and port, never the user or password', () => {
    expect(serverAddress('postgres://user:secret@db.internal:6432/x')).toBe('db.internal:6432');
    expect(serverAddress('postgresql://db.internal/x')).toBe('db.internal:5432');
  });
});
