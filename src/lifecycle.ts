/**
 * The resources an app opens at start (database, rate-limit store, server,
 * and whatever comes next), on one list. The same list is closed when
 * start-up fails halfway and at shutdown, so nothing opened is ever left
 * open.
 */
export interface Closers {
  /** Registers a resource to release; they close in reverse order of registration. */
  add(name: string, close: () => unknown): void;
  /**
   * Closes every resource once, the last registered first, each even if an
   * earlier one failed (`onError` hears of the failure). Later calls return
   * the same promise.
   */
  closeAll(): Promise<void>;
}

export function createClosers(onError: (name: string, error: unknown) => void): Closers {
  const list: Array<{ readonly name: string; readonly close: () => unknown }> = [];
  let closing: Promise<void> | undefined;
  return {
    add(name, close) {
      if (closing) throw new Error(`${name} opened after shutdown began`);
      list.push({ name, close });
    },
    closeAll() {
      closing ??= (async () => {
        for (const { name, close } of list.toReversed()) {
          try {
            await close();
          } catch (e) {
            onError(name, e);
          }
        }
      })();
      return closing;
    },
  };
}
