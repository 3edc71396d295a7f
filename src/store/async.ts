/**
 * The store's seam is asynchronous, so an engine whose driver answers later
 * (PostgreSQL) and one that answers at once (SQLite through better-sqlite3)
 * implement the same interface. `Async<R>` is a repository's interface with
 * every method answering through a promise; `asAsync` gives a synchronous
 * repository that shape. Its methods still run at the call, as before: only
 * their result (or error) arrives as a promise.
 */

/** `R` with every method, also of nested repositories, returning a promise of what it returned. */
export type Async<R> = {
  [K in keyof R]: R[K] extends (...args: infer A) => infer T
    ? (...args: A) => Promise<Awaited<T>>
    : R[K] extends object
      ? Async<R[K]>
      : R[K];
};

/** Wraps a synchronous repository (a plain object of functions and nested repositories) as `Async<R>`. */
export function asAsync<R extends object>(repo: R): Async<R> {
  const wrapped: Record<string, unknown> = {};
  for (const [name, member] of Object.entries(repo)) {
    if (typeof member === 'function') {
      wrapped[name] = (...args: unknown[]): Promise<unknown> => {
        try {
          return Promise.resolve((member as (...a: unknown[]) => unknown)(...args));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    } else {
      wrapped[name] = member !== null && typeof member === 'object' ? asAsync(member) : member;
    }
  }
  // The loop gives every member of R its Async<R> counterpart; TypeScript cannot follow a mapped type through Object.entries.
  return wrapped as Async<R>;
}
