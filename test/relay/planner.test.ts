/**
 * The planner as a table: a lane's state and the time in, what may start (or
 * how long to wait, and what a waiting test email is told) out. No I/O.
 */
import { describe, expect, it } from 'vitest';
import {
  connectionLimit,
  expectedGraphCost,
  GRAPH_LIMITS,
  laneSlots,
  planGraph,
  planLane,
  planQuota,
  WAIT,
  type GraphCost,
  type GraphUse,
  type LaneView,
  type Plan,
} from '../../src/relay/planner.js';

const T = 1_700_000_000_000;
const MINUTE = 60_000;
const MB = 1_000_000;

/** An idle lane: 3 connections, 30 messages a minute, nothing waiting, no Graph. */
const lane = (state: Partial<LaneView> = {}): LaneView => ({
  inFlight: 0,
  exclusive: false,
  testWaiting: false,
  maxConnections: 3,
  messagesPerMinute: 30,
  throttleLimit: null,
  throttledUntil: 0,
  ends: [],
  pausedUntil: 0,
  appFree: Infinity,
  graphUsed: [],
  graphInFlight: { requests: 0, uploadedBytes: 0 },
  ...state,
});

describe('planLane', () => {
  it.each<[string, Partial<LaneView>, number, Plan]>([
    ['starts mail on an idle lane', {}, 0, { start: 'mail' }],
    ['starts mail while a connection is free', { inFlight: 2 }, 0, { start: 'mail' }],
    ['waits for an attempt to end at Max Connections', { inFlight: 3 }, 0, { start: null, until: Infinity, reason: WAIT.connections }],
    [
      'keeps to the connections lowered after a 432 4.3.2 while the throttle lasts',
      { inFlight: 1, throttleLimit: 1, throttledUntil: T + 1 },
      0,
      { start: null, until: Infinity, reason: WAIT.connections },
    ],
    ['uses Max Connections again once the throttle ran out', { inFlight: 1, throttleLimit: 1, throttledUntil: T }, 0, { start: 'mail' }],
    [
      'waits a minute from the oldest recent end at Messages per Minute',
      { messagesPerMinute: 2, ends: [T - 40_000, T - 10_000] },
      0,
      { start: null, until: T + 20_000, reason: WAIT.rate },
    ],
    [
      'counts an attempt in flight against the minute',
      { messagesPerMinute: 2, inFlight: 1, ends: [T - 10_000] },
      0,
      { start: null, until: T + 50_000, reason: WAIT.rate },
    ],
    [
      'waits for an attempt to end when only attempts in flight fill the minute',
      { messagesPerMinute: 2, inFlight: 2 },
      0,
      { start: null, until: Infinity, reason: WAIT.connections },
    ],
    ['no longer counts ends a minute old', { messagesPerMinute: 2, ends: [T - MINUTE - 5, T - MINUTE] }, 0, { start: 'mail' }],
    ["waits out Microsoft's pause", { pausedUntil: T + 5 }, 0, { start: null, until: T + 5, reason: WAIT.paused }],
    ['starts again when the pause ends', { pausedUntil: T }, 0, { start: 'mail' }],
    ['yields to arriving mail for the pace', {}, 7, { start: null, until: T + 7, reason: null }],
    ['starts a waiting test email before mail, whatever the pace', { testWaiting: true }, 7, { start: 'test' }],
    [
      'lets a waiting test email wait for the attempts in flight (it needs a connection of its own)',
      { testWaiting: true, inFlight: 1 },
      0,
      { start: null, until: Infinity, reason: WAIT.connections },
    ],
    [
      "tells a waiting test email about Microsoft's pause first",
      { testWaiting: true, inFlight: 3, pausedUntil: T + 9 },
      0,
      { start: null, until: T + 9, reason: WAIT.paused },
    ],
    [
      'tells a waiting test email about Messages per Minute',
      { testWaiting: true, messagesPerMinute: 1, ends: [T - 1_000] },
      0,
      { start: null, until: T + 59_000, reason: WAIT.rate },
    ],
    [
      'starts nothing while a test email owns the lane, and tells a second one nothing',
      { exclusive: true, inFlight: 1, testWaiting: true },
      0,
      { start: null, until: Infinity, reason: null },
    ],
  ])('%s', (_what, state, paceDelay, plan) => {
    expect(planLane(lane(state), T, paceDelay)).toEqual(plan);
  });

  it.each<[string, Partial<LaneView>, Plan]>([
    ['starts Graph mail while its app has a request free', { inFlight: 2, appFree: 1 }, { start: 'mail' }],
    [
      "waits for an attempt of the app to end when Graph Requests at Once is used up (by other mailboxes' attempts too)",
      { appFree: 0 },
      { start: null, until: Infinity, reason: WAIT.app },
    ],
    [
      'keeps to Max Connections of the mailbox before the app budget',
      { inFlight: 3, appFree: 1 },
      { start: null, until: Infinity, reason: WAIT.connections },
    ],
    [
      "tells a waiting test email about its app's requests at once",
      { testWaiting: true, appFree: 0 },
      { start: null, until: Infinity, reason: WAIT.app },
    ],
    [
      "blocks a waiting test email until a Graph Retry-After's pause elapses",
      { testWaiting: true, appFree: 4, pausedUntil: T + 30_000 },
      { start: null, until: T + 30_000, reason: WAIT.paused },
    ],
    ['starts a waiting test email the moment the pause elapses', { testWaiting: true, appFree: 4, pausedUntil: T }, { start: 'test' }],
  ])('%s', (_what, state, plan) => {
    expect(planLane(lane(state), T, 0)).toEqual(plan);
  });

  it('leaves the lane it looks at as it was', () => {
    const view = lane({ messagesPerMinute: 2, ends: [T - 2 * MINUTE, T - 1_000], throttleLimit: 1, throttledUntil: T - 1 });
    const before = structuredClone(view);
    planLane(view, T, 0);
    expect(view).toEqual(before);
  });
});

describe('laneSlots and connectionLimit', () => {
  it.each<[string, Partial<LaneView>, { slots: number; wakeAt: number }]>([
    ['the free connections on an idle lane', {}, { slots: 3, wakeAt: Infinity }],
    ['the rate when it is the stricter limit', { messagesPerMinute: 2, ends: [T - 1_000] }, { slots: 1, wakeAt: Infinity }],
    ['none, until the oldest recent end is a minute old', { messagesPerMinute: 1, ends: [T - 1_000] }, { slots: 0, wakeAt: T + 59_000 }],
  ])('gives %s', (_what, state, slots) => {
    expect(laneSlots(lane(state), T)).toEqual(slots);
  });

  it('lowers Max Connections only until the throttle runs out', () => {
    const throttled = { maxConnections: 3, throttleLimit: 2, throttledUntil: T + 1 };
    expect(connectionLimit(throttled, T)).toBe(2);
    expect(connectionLimit(throttled, T + 1)).toBe(3);
    expect(connectionLimit({ ...throttled, throttleLimit: 5 }, T)).toBe(3);
  });
});

describe('planQuota', () => {
  it.each<[string, number, Plan | null]>([
    ['lets work go when its recipients fit now', T, null],
    ['waits until they fit under Recipients per Day', T + 3_600_000, { start: null, until: T + 3_600_000, reason: WAIT.quota }],
  ])('%s', (_what, fitsAt, plan) => {
    expect(planQuota(fitsAt, T)).toEqual(plan);
  });
});

describe('planGraph', () => {
  const use = (ago: number, requests: number, uploadedBytes: number): GraphUse => ({ at: T - ago, requests, uploadedBytes });
  const small: GraphCost = { requests: 3, uploadedBytes: 4_000 };
  it.each<[string, readonly GraphUse[], GraphCost, GraphCost, Plan | null]>([
    ['lets a Graph attempt go on a mailbox with nothing used', [], { requests: 0, uploadedBytes: 0 }, small, null],
    [
      'waits until enough requests leave the 10-minute window',
      [use(9 * MINUTE, 5_000, 0), use(4 * MINUTE, 4_999, 0)],
      { requests: 0, uploadedBytes: 0 },
      small,
      { start: null, until: T + MINUTE, reason: WAIT.graphRequests },
    ],
    [
      'waits until enough uploaded bytes leave the 5-minute window, oldest first',
      [use(4 * MINUTE, 0, 100 * MB), use(MINUTE, 0, 40 * MB)],
      { requests: 0, uploadedBytes: 0 },
      { requests: 3, uploadedBytes: 20 * MB },
      { start: null, until: T + MINUTE, reason: WAIT.graphUploads },
    ],
    [
      'does not start a large message that would overrun the upload window with the attempts in flight: looks again when one ends',
      [],
      { requests: 6, uploadedBytes: 140 * MB },
      { requests: 7, uploadedBytes: 14 * MB },
      { start: null, until: Infinity, reason: WAIT.graphUploads },
    ],
    [
      'no longer counts uploads five minutes old',
      [use(5 * MINUTE, 1, GRAPH_LIMITS.uploadBytes)],
      { requests: 0, uploadedBytes: 0 },
      small,
      null,
    ],
    [
      'waits for the later of the two windows',
      [use(6 * MINUTE, 9_999, 0), use(2 * MINUTE, 0, 149 * MB)],
      { requests: 0, uploadedBytes: 0 },
      { requests: 3, uploadedBytes: 2 * MB },
      { start: null, until: T + 4 * MINUTE, reason: WAIT.graphRequests },
    ],
    [
      'lets a cost over the whole budget go once nothing else counts',
      [],
      { requests: 0, uploadedBytes: 0 },
      { requests: 3, uploadedBytes: 200 * MB },
      null,
    ],
  ])('%s', (_what, graphUsed, graphInFlight, cost, plan) => {
    expect(planGraph({ graphUsed, graphInFlight }, cost, T)).toEqual(plan);
  });

  it("expects a message's MIME in base64 and a request per 3 MiB of it, plus two", () => {
    expect(expectedGraphCost(3)).toEqual({ requests: 3, uploadedBytes: 4 });
    expect(expectedGraphCost(10 * MB)).toEqual({ requests: 7, uploadedBytes: 13_333_336 });
  });
});
