/**
 * Blobs in PostgreSQL: one table, `capsule_blobs`, created on first use. The shared store for clusters where the
 * workers, the clients and `capsule gc` run on different machines. Credentials come from the URL or libpq's usual
 * variables (PGPASSWORD, PGSSLMODE...), which the `pg` client reads.
 */
import type pg from 'pg';
import { ADDRESS, type BlobInfo, type BlobStore } from './blob-store.js';

const SCHEMA = `CREATE TABLE IF NOT EXISTS capsule_blobs (
  address text PRIMARY KEY,
  data bytea NOT NULL,
  size bigint NOT NULL,
  touched_at timestamptz NOT NULL DEFAULT now()
)`;
/** Errors of two processes creating the table at once (the loser sees a duplicate type or table). */
const ALREADY_CREATED = new Set(['23505', '42P07']);

export class PostgresBlobStore implements BlobStore {
  readonly kind = 'postgres';
  readonly location: string;
  private readonly url: string;
  private pool: pg.Pool | undefined;
  private schema: Promise<pg.Pool> | undefined;

  constructor(url: string) {
    this.url = url;
    this.location = redact(url);
  }

  /** The pool, with the table created: on first use, so a process that never stores a blob never loads `pg`. */
  private ready(): Promise<pg.Pool> {
    this.schema ??= (async () => {
      const { default: postgres } = await import('pg');
      // allowExitOnIdle: a CLI command must not stay alive for the pool's idle connections.
      this.pool ??= new postgres.Pool({ connectionString: this.url, max: 4, allowExitOnIdle: true });
      // An idle connection that drops (server restart) is replaced on next use; it must not crash the process.
      this.pool.on('error', () => {});
      try {
        await this.pool.query(SCHEMA);
      } catch (error) {
        if (!ALREADY_CREATED.has((error as { code?: string }).code ?? '')) throw error;
      }
      return this.pool;
    })();
    this.schema.catch(() => (this.schema = undefined));
    return this.schema;
  }

  async put(address: string, bytes: Uint8Array): Promise<void> {
    check(address);
    const pool = await this.ready();
    // Touch first: a blob that exists (the same value stored again) is not sent a second time.
    const touched = await pool.query('UPDATE capsule_blobs SET touched_at = now() WHERE address = $1', [address]);
    if ((touched.rowCount ?? 0) > 0) return;
    await pool.query(
      'INSERT INTO capsule_blobs (address, data, size) VALUES ($1, $2, $3) ON CONFLICT (address) DO UPDATE SET touched_at = now()',
      [address, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes.byteLength],
    );
  }

  async get(address: string): Promise<Uint8Array | undefined> {
    check(address);
    const result = await (await this.ready()).query<{ data: Buffer }>('SELECT data FROM capsule_blobs WHERE address = $1', [address]);
    return result.rows[0]?.data;
  }

  async *list(): AsyncIterable<BlobInfo> {
    const result = await (await this.ready()).query<{ address: string; size: string; touched_at: Date }>('SELECT address, size, touched_at FROM capsule_blobs ORDER BY address');
    for (const row of result.rows) yield { address: row.address, size: Number(row.size), touchedAt: row.touched_at };
  }

  async delete(addresses: string[]): Promise<number> {
    if (addresses.length === 0) return 0;
    addresses.forEach(check);
    const result = await (await this.ready()).query('DELETE FROM capsule_blobs WHERE address = ANY($1::text[])', [addresses]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}

function check(address: string): void {
  if (!ADDRESS.test(address)) throw new Error(`not a blob address: "${address}"`);
}

/** The URL without its password, for messages and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres (unparsable URL)';
  }
}
