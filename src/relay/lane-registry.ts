/**
 * The scheduler's lanes and their members, kept in step with the servers
 * table: a server joins the lane of its mailbox, a settings change keeps the
 * lane and its counters but gives the server a new connection, and only one
 * connection of a lane (its active link) may hold sockets at a time. A server
 * that sends via Graph also joins its app's budget, shared across mailboxes.
 */
import { TokenError } from '../auth/token-error.js';
import type { Logger } from '../log.js';
import type { StoreSlice } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import type { Connection } from './connect.js';
import { appKey, connectionLimit, laneKey, newLane, newMember, type AppBudget, type Lane, type Link, type Member } from './lane.js';

export interface LaneRegistryDeps {
  store: StoreSlice<{ queue: 'releaseHeld'; servers: 'revisions' | 'get'; laneState: 'load' }>;
  log: Logger;
  now: () => number;
  connect: (server: EmailServer) => Promise<Connection>;
  /** Told about every server whose settings were (re)applied. */
  onSettings: (member: Member) => Promise<void>;
}

export interface LaneRegistry {
  lanes: Map<string, Lane>;
  members: Map<number, Member>;
  /**
   * The app budgets of Graph servers, by tenant and client ID. Kept while the relay runs (one per
   * app ever configured), so attempts still in flight count when a server joins its app again.
   */
  apps: Map<string, AppBudget>;
  /** The server's link, made when first needed (no socket opens until a send); null when it cannot be connected. */
  ensureLink(member: Member): Promise<Link | null>;
  /** Makes `link` the lane's one socket holder (null: none, for a test email); false while the current one still delivers. */
  activate(lane: Lane, link: Link | null, t: number): boolean;
  closeLink(link: Link): void;
  /** Forgets a lane no server uses any more, once its last attempt ended (its stored state stays). */
  dropIfUnused(lane: Lane): void;
  /**
   * Syncs members with the servers table: new, changed (revision) and removed servers; `all`
   * re-applies every server. The scheduler runs it as one of its steps (never two at once).
   */
  syncLanes(all?: boolean): Promise<void>;
}

/** Creates the registry; lanes carry on from the state the store remembers. */
export function createLaneRegistry({ store, log, now, connect, onSettings }: LaneRegistryDeps): LaneRegistry {
  const { queue, servers, laneState } = store;
  const lanes = new Map<string, Lane>();
  const members = new Map<number, Member>();
  const apps = new Map<string, AppBudget>();

  const closeLink = (link: Link): void => {
    if (link.closed) return;
    link.closed = true;
    link.conn.upstream.close();
    for (const member of members.values()) if (member.link === link) member.link = null;
  };

  const ensureLink = async (member: Member): Promise<Link | null> => {
    if (member.link) return member.link;
    try {
      const conn = await connect(member.server);
      // Made meanwhile by another caller: that one stays.
      if (member.link) {
        conn.upstream.close();
        return member.link;
      }
      member.link = { conn, leases: new Set(), closed: false };
      member.connError = null;
    } catch (err) {
      member.connError =
        err instanceof TokenError
          ? err
          : new TokenError({ message: (err as Error).message, aadsts: null, oauthError: 'not_configured', transient: false });
    }
    return member.link;
  };

  const activate = (lane: Lane, link: Link | null, t: number): boolean => {
    if (lane.active === link) return true;
    if (lane.active && lane.active.leases.size > 0) return false;
    if (lane.active) closeLink(lane.active);
    lane.active = link;
    link?.conn.upstream.setConnectionLimit(connectionLimit(lane, t));
    return true;
  };

  const laneFor = async (key: string): Promise<Lane> => {
    let lane = lanes.get(key);
    if (!lane) {
      lane = newLane(key, await laneState.load(key));
      lanes.set(key, lane);
    }
    return lane;
  };

  const dropIfUnused = (lane: Lane): void => {
    if (lane.members.size > 0 || lane.leases.size > 0) return;
    if (lane.active) closeLink(lane.active);
    for (const test of lane.tests.splice(0)) test.cancel(new Error('the email server was changed or removed'));
    if (lanes.get(lane.key) === lane) lanes.delete(lane.key);
  };

  const leaveLane = (member: Member): void => {
    member.lane.members.delete(member.server.id);
    member.app?.members.delete(member);
    member.app = null;
    dropIfUnused(member.lane);
  };

  /** Puts a server in the budget of the app its (new) settings send with, if it sends via Graph. */
  const joinApp = (member: Member): void => {
    const key = appKey(member.server);
    if (member.app?.key === key) return;
    member.app?.members.delete(member);
    member.app = null;
    if (key === null) return;
    let app = apps.get(key);
    if (!app) {
      app = { key, members: new Set(), leases: new Set() };
      apps.set(key, app);
    }
    app.members.add(member);
    member.app = app;
  };

  /** Takes new settings for a server: same lane and counters, a new connection, held mail retried. */
  const applySettings = async (server: EmailServer): Promise<void> => {
    const key = laneKey(server);
    let member = members.get(server.id);
    if (member && member.lane.key !== key) leaveLane(member);
    if (!member || member.lane.key !== key) {
      const lane = await laneFor(key);
      member = member ? Object.assign(member, { lane }) : newMember(server, lane);
      lane.members.set(server.id, member);
      members.set(server.id, member);
    }
    member.server = server;
    joinApp(member);
    member.generation++;
    member.held = false;
    member.connError = null;
    // The old link keeps its sockets (it may still be delivering) until the new one is activated.
    member.link = null;
    const released = await queue.releaseHeld(server.id, now());
    if (released > 0) log.info('retrying held mail', { server: server.name, messages: released });
    await onSettings(member);
  };

  const syncLanes = async (all = false): Promise<void> => {
    const revisions = await servers.revisions();
    for (const [id, member] of members) {
      if (revisions.has(id)) continue;
      members.delete(id);
      leaveLane(member);
    }
    for (const [id, revision] of revisions) {
      if (!all && members.get(id)?.server.revision === revision) continue;
      const server = await servers.get(id);
      if (server) await applySettings(server);
    }
  };

  return { lanes, members, apps, ensureLink, activate, closeLink, dropIfUnused, syncLanes };
}
