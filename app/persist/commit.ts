// One IndexedDB write transaction, all or none, with the browser's own reason when it fails.

/**
 * Issues `writes` and waits for them and the commit. On any failure the transaction is aborted (all or none) and
 * the transaction's own error is rethrown when there is one (QuotaExceededError when storage is full).
 */
export async function committed(
  tx: { done: Promise<void>; error: DOMException | null; abort(): void },
  issue: (add: (write: Promise<unknown>) => void) => void,
): Promise<void> {
  const writes: Promise<unknown>[] = [];
  try {
    issue((w) => void writes.push(w));
    await Promise.all([...writes, tx.done]);
  } catch (e) {
    try {
      tx.abort();
    } catch {
      // already finished or aborted
    }
    await Promise.allSettled([...writes, tx.done]);
    throw tx.error ?? e;
  }
}
