/**
 * Leases: one per attempt, counting it in its lane, its server and its link
 * at once (and a Graph attempt in its app's budget and its mailbox's Graph
 * windows), given back exactly once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/relay/connect.js';
import {
  countGraphUse,
  laneView,
  newLane,
  newMember,
  takeLease,
  type AppBudget,
  type Lane,
  type Link,
  type Member,
} from '../../src/relay/lane.js';
import { expectedGraphCost } from '../../src/relay/planner.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let lane: Lane;
let member: Member;
let link: Link;

beforeEach(() => {
  fx = createFixture();
  lane = newLane('mailbox:relay@contoso.test', null);
  member = newMember(fx.store.sync.servers.add(plainServer()), lane);
  lane.members.set(member.server.id, member);
  link = { conn: {} as Connection, leases: new Set(), closed: false };
});
afterEach(() => fx.cleanup());

const counts = () => ({ lane: lane.leases.size, member: member.leases.size, link: link.leases.size });

describe('leases', () => {
  it('counts an attempt in its lane, server and link from the moment it starts', () => {
    takeLease(member, link, false);
    const second = takeLease(member, link, false);
    expect(counts()).toEqual({ lane: 2, member: 2, link: 2 });
    second.release();
    expect(counts()).toEqual({ lane: 1, member: 1, link: 1 });
  });

  it('gives an attempt back once however often it is released', () => {
    const first = takeLease(member, link, false);
    takeLease(member, link, false);
    first.release();
    first.release();
    expect(counts()).toEqual({ lane: 1, member: 1, link: 1 });
  });

  it('counts an attempt without a link (a server that cannot be connected) in its lane and server', () => {
    const lease = takeLease(member, null, false);
    expect(counts()).toEqual({ lane: 1, member: 1, link: 0 });
    lease.release();
    expect(counts()).toEqual({ lane: 0, member: 0, link: 0 });
  });

  it('lets a test email own the lane until its lease is given back', () => {
    const test = takeLease(member, link, true);
    expect(laneView(lane)).toMatchObject({ exclusive: true, inFlight: 1 });
    test.release();
    expect(laneView(lane)).toMatchObject({ exclusive: false, inFlight: 0 });
  });

  it('gives the attempt back to the lane it started in when its server moved to another mailbox meanwhile', () => {
    const lease = takeLease(member, link, false);
    const other = newLane('mailbox:printers@contoso.test', null);
    member.lane = other;
    lease.release();
    expect([lane.leases.size, other.leases.size, member.leases.size]).toEqual([0, 0, 0]);
  });
});

describe('Graph leases', () => {
  const T = 1_700_000_000_000;
  let app: AppBudget;
  let other: Lane;
  let printers: Member;

  /** A server of the seeded app that sends via Graph as `mailbox`, in `into`'s lane and the app's budget. */
  const graphMember = (into: Lane, mailbox: string, graphRequestsAtOnce = 4): Member => {
    const server = fx.store.sync.servers.add(
      plainServer({ name: mailbox.split('@')[0], method: 'office365', sendVia: 'graph', mailbox, graphRequestsAtOnce }),
    );
    const joined = newMember(server, into);
    into.members.set(server.id, joined);
    joined.app = app;
    app.members.add(joined);
    return joined;
  };

  beforeEach(() => {
    app = { key: 'app:contoso/app', members: new Set(), leases: new Set() };
    lane.members.clear();
    member = graphMember(lane, 'relay@contoso.test');
    other = newLane('mailbox:printers@contoso.test', null);
    printers = graphMember(other, 'printers@contoso.test');
  });

  it("counts a Graph attempt in its app's budget whichever mailbox it sends as, until it is given back", () => {
    takeLease(member, link, false);
    takeLease(member, link, false);
    const third = takeLease(printers, link, false);
    expect(laneView(lane).appFree).toBe(1);
    takeLease(printers, link, false);
    expect([laneView(lane).appFree, laneView(other).appFree]).toEqual([0, 0]);
    third.release();
    third.release();
    expect([laneView(lane).appFree, laneView(other).appFree]).toEqual([1, 1]);
  });

  it("keeps to the smallest Graph Requests at Once of the app's servers", () => {
    graphMember(newLane('mailbox:sales@contoso.test', null), 'sales@contoso.test', 2);
    takeLease(member, link, false);
    expect(laneView(lane).appFree).toBe(1);
  });

  it('counts an attempt without a link (a server that cannot be connected) in no app budget and no Graph window', () => {
    const lease = takeLease(member, null, false, 5_000);
    expect(lease).toMatchObject({ app: null, cost: null });
    expect(laneView(lane)).toMatchObject({ appFree: 4, graphInFlight: { requests: 0, uploadedBytes: 0 } });
  });

  it('counts Graph attempts in flight in their mailbox at what they are expected to cost', () => {
    takeLease(member, link, false, 3_000);
    takeLease(member, link, true, 30);
    takeLease(printers, link, false, 9_000_000);
    const expected = [expectedGraphCost(3_000), expectedGraphCost(30)];
    expect(laneView(lane).graphInFlight).toEqual({
      requests: expected.reduce((sum, c) => sum + c.requests, 0),
      uploadedBytes: expected.reduce((sum, c) => sum + c.uploadedBytes, 0),
    });
  });

  it('counts an ended Graph attempt at what the transport reported, else at what it was expected to cost', () => {
    const reported = takeLease(member, link, false, 3_000);
    const silent = takeLease(member, link, false, 3_000);
    countGraphUse(reported, T, { requests: 1, uploadedBytes: 4_100 });
    countGraphUse(silent, T + 1, undefined);
    expect(lane.graphUsed).toEqual([
      { at: T, requests: 1, uploadedBytes: 4_100 },
      { at: T + 1, ...expectedGraphCost(3_000) },
    ]);
  });

  it('counts nothing in the Graph windows for an attempt over SMTP', () => {
    const smtp = newMember(fx.store.sync.servers.add(plainServer({ name: 'smtp' })), lane);
    countGraphUse(takeLease(smtp, link, false, 3_000), T, { requests: 1, uploadedBytes: 1 });
    expect(lane.graphUsed).toEqual([]);
  });
});
