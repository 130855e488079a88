// One IndexedDB opener (through idb) for the app's databases: opened on first use, shared, reopened after
// a failed open, and closed when another tab upgrades the schema (the next use reopens it).
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export interface LazyDb<S extends DBSchema> {
  /** Returns the open connection, opening it on first use. */
  open(): Promise<IDBPDatabase<S>>;
  /** Closes the connection (the next open() reopens it). */
  close(): Promise<void>;
}

/** Returns an opener of database `name` at `version`; `upgrade` creates its stores. */
export function lazyDb<S extends DBSchema>(name: string, version: number, upgrade: (d: IDBPDatabase<S>) => void): LazyDb<S> {
  let db: Promise<IDBPDatabase<S>> | null = null;
  const close = async (): Promise<void> => {
    const d = db;
    db = null;
    if (d) (await d.catch(() => null))?.close();
  };
  const open = (): Promise<IDBPDatabase<S>> => {
    db ??= openDB<S>(name, version, {
      upgrade: (d) => upgrade(d),
      // Another tab upgrading the schema: let it, and reopen on next use.
      blocking() {
        void close();
      },
    }).catch((e: unknown) => {
      db = null;
      throw e;
    });
    return db;
  };
  return { open, close };
}
