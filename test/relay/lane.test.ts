/**
 * Leases: one per attempt, counting it in its lane, its server and its link
 * at once, given back exactly once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/relay/connect.js';
import { laneView, newLane, newMember, takeLease, type Lane, type Link, type Member } from '../../src/relay/lane.js';
import { createFixture, plainServer, type Fixture } from '../helpers/fixture.js';

let fx: Fixture;
let lane: Lane;
let member: Member;
let link: Link;

beforeEach(() => {
  fx = createFixture();
  lane = newLane('mailbox:relay@contoso.test', null);
  member = newMember(fx.store.servers.add(plainServer()), lane);
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
