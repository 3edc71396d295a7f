/**
 * The race an add (or a rename) must survive when several relay365 instances
 * share a store: the same name taken by another instance after the panel, the
 * API or the command line looked it up and found it free, and before its own
 * write reaches the database.
 */

/**
 * Makes the next call of `repo[method]` (the front end's write, after its look-up) run only once
 * `arrive` is done: another instance's write of the same name, committed through the store.
 */
export function takenBeforeWrite<K extends string, R extends Record<K, (...args: never[]) => Promise<unknown>>>(
  repo: R,
  method: K,
  arrive: () => Promise<unknown>,
): void {
  const write = repo[method];
  const delayed = async (...args: Parameters<R[K]>): Promise<unknown> => {
    repo[method] = write;
    await arrive();
    return write(...args);
  };
  // The same signature as `write`: it takes the same arguments and resolves with what `write` resolves with.
  repo[method] = delayed as R[K];
}
