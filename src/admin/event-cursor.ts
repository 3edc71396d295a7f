/**
 * Where the live log tail starts: the id of the newest event. The queue repo
 * answers "events after id X", so the newest id is found by doubling then
 * bisecting on that question (a few indexed lookups).
 */
import type { StoreRepos } from '../store/index.js';

/** The largest event id, or 0 when there is none. */
export async function latestEventId(queue: Pick<StoreRepos['queue'], 'eventsSince'>): Promise<number> {
  const after = async (id: number): Promise<boolean> => (await queue.eventsSince(id, 1)).length > 0;
  if (!(await after(0))) return 0;
  let low = 0; // an id with newer events
  let high = 1;
  while (await after(high)) {
    low = high;
    high *= 2;
  }
  // Now some event is newer than `low`, none newer than `high`.
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await after(mid)) low = mid;
    else high = mid;
  }
  return high;
}
