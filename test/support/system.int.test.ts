import { afterAll, describe, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { DEFAULT_DATABASE_URL, DEFAULT_NATS_URL } from '../../scripts/lib/services.ts';
import { dropTestResources } from './system.ts';

const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
const natsUrl = process.env.NATS_URL ?? DEFAULT_NATS_URL;
const id = `t_dispose${Date.now().toString(36)}`;
const other = `${id}x`; // shares the prefix as a string, but is another system's

async function databases(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE 't\\_dispose%' ORDER BY datname`,
  );
  return rows.map((r) => r.datname);
}

describe('dropTestResources', () => {
  const client = new pg.Client({ connectionString: databaseUrl });

  afterAll(async () => {
    await dropTestResources({ databaseUrl, natsUrl, databasePrefix: other, natsNamespace: other });
    await client.end();
  });

  it("drops the prefix's databases (even with a session open) and the namespace's streams, nothing else", async () => {
    await client.connect();
    for (const name of [`${id}_users`, `${id}_orders`, `${other}_users`])
      await client.query(`CREATE DATABASE ${name}`);
    const open = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]*$/, `/${id}_users`) });
    await open.connect();
    open.on('error', () => {}); // it is terminated by DROP ... WITH (FORCE)

    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `${id}_ORDERS`, subjects: [`${id}.orders.>`] });
    await jsm.streams.add({ name: `${other}_ORDERS`, subjects: [`${other}.orders.>`] });

    await dropTestResources({ databaseUrl, natsUrl, databasePrefix: id, natsNamespace: `${id}_` });

    expect(await databases(client)).toEqual([`${other}_users`]);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    expect(names).not.toContain(`${id}_ORDERS`);
    expect(names).toContain(`${other}_ORDERS`);
    await nc.close();
    await open.end().catch(() => {});
  });
});
