import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { ensureInfrastructure, type Infrastructure } from './infra.ts';
import { InfrastructureError, isListening } from './local-servers.ts';
import { NATS_MISSING_MESSAGE, findExecutable } from './nats-server.ts';
import { freePort } from './ports.ts';

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('ensureInfrastructure with nothing listening', () => {
  let dataDir: string;
  let pgPort: number;
  let natsPort: number;
  let infra: Infrastructure | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'infra-test-'));
    pgPort = await freePort();
    natsPort = await freePort();
  });

  afterAll(async () => {
    await infra?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const options = () => ({
    databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    dataDir,
  });

  it('starts PostgreSQL and NATS with JetStream, and hands back a working database URL', async () => {
    infra = await ensureInfrastructure(options());
    expect(infra.started).toEqual({ postgres: true, nats: true });
    expect(infra.natsUrl).toBe(`nats://127.0.0.1:${natsPort}`);
    expect(new URL(infra.databaseUrl).port).toBe(String(pgPort));

    await query(infra.databaseUrl, 'CREATE DATABASE infra_probe');
    const rows = await query(
      infra.databaseUrl,
      `SELECT 1 AS one FROM pg_database WHERE datname = 'infra_probe'`,
    );
    expect(rows).toEqual([{ one: 1 }]);

    // A user per process, with passwords of this run; nobody gets in without one.
    const admin = infra.natsCredentials!.admin;
    expect(infra.natsCredentials!.orders.user).toBe('orders');
    await expect(connect({ servers: infra.natsUrl, maxReconnectAttempts: 0 })).rejects.toThrow(
      /authorization/i,
    );
    const nc = await connect({ servers: infra.natsUrl, user: admin.user, pass: admin.password });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.getAccountInfo();
      expect(info.streams).toBe(0);
    } finally {
      await nc.close();
    }
  });

  it('stops what it started, and starts again on the same data without initialising it', async () => {
    await infra!.stop();
    await infra!.stop(); // idempotent
    expect(await isListening('127.0.0.1', pgPort)).toBe(false);
    expect(await isListening('127.0.0.1', natsPort)).toBe(false);

    infra = await ensureInfrastructure(options());
    expect(infra.started).toEqual({ postgres: true, nats: true });
    const rows = await query(
      infra.databaseUrl,
      `SELECT 1 AS one FROM pg_database WHERE datname = 'infra_probe'`,
    );
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('uses servers that already answer, starting nothing', async () => {
    const again = await ensureInfrastructure({ ...options(), databaseUrl: infra!.databaseUrl });
    expect(again.started).toEqual({ postgres: false, nats: false });
    expect(again.databaseUrl).toBe(infra!.databaseUrl);
    // An external NATS is used as it is: its users are not this call's business.
    expect(again.natsCredentials).toBeUndefined();
    await again.stop();
    expect(await isListening('127.0.0.1', pgPort)).toBe(true);
  });

  it('starts no NATS when asked for PostgreSQL only', async () => {
    const silentNats = await freePort();
    const pgOnly = await ensureInfrastructure({
      ...options(),
      databaseUrl: infra!.databaseUrl,
      natsUrl: `nats://127.0.0.1:${silentNats}`,
      nats: false,
    });
    expect(pgOnly.started).toEqual({ postgres: false, nats: false });
    expect(await isListening('127.0.0.1', silentNats)).toBe(false);
    await pgOnly.stop();
  });

  it("takes a cluster's NATS_URL as up when one of its servers answers", async () => {
    const natsUrl = `nats://127.0.0.1:${await freePort()},nats://127.0.0.1:${natsPort}`;
    const again = await ensureInfrastructure({ ...options(), databaseUrl: infra!.databaseUrl, natsUrl });
    expect(again.started).toEqual({ postgres: false, nats: false });
    expect(again.natsUrl).toBe(natsUrl);
    await again.stop();
  });
});

describe('ensureInfrastructure errors', () => {
  it('refuses to start a server for an address on another machine', async () => {
    const attempt = ensureInfrastructure({
      databaseUrl: 'postgres://postgres@192.0.2.1:5432/postgres',
      natsUrl: 'nats://192.0.2.1:4222',
      dataDir: path.join(os.tmpdir(), 'infra-never-used'),
    });
    await expect(attempt).rejects.toThrow(InfrastructureError);
    await expect(attempt).rejects.toThrow(/not on this machine/);
  });

  it('starts no NATS for a cluster none of whose servers answers', async () => {
    const attempt = ensureInfrastructure({
      natsUrl: `nats://127.0.0.1:${await freePort()},nats://127.0.0.1:${await freePort()}`,
      dataDir: path.join(os.tmpdir(), 'infra-never-used'),
    });
    await expect(attempt).rejects.toThrow(/none of the NATS servers in NATS_URL answers/);
  });

  it('names what is missing in one line when there is no nats-server', () => {
    expect(findExecutable('no-such-binary-for-infra-test')).toBeUndefined();
    expect(NATS_MISSING_MESSAGE).not.toContain('\n');
    expect(NATS_MISSING_MESSAGE).toMatch(/apt-get install nats-server/);
    expect(NATS_MISSING_MESSAGE).toMatch(/NATS_URL/);
  });
});
