import { afterEach, describe, expect, it } from 'vitest';
import { MEMBER_STALE_MS } from '../../src/cluster/membership.js';
import { createPanel, signedIn, visibleText, type Panel } from './panel.js';

let panel: Panel;
afterEach(() => panel?.cleanup());

describe('the Cluster page', () => {
  it('lists the instances that ran on the store, marks this one, and tells running, stopped and gone apart', async () => {
    panel = createPanel({ env: { RELAY365_INSTANCE_ID: 'relay-a' } });
    const { instances } = panel.fx.store.sync;
    const now = panel.clock.now;
    instances.join('relay-old', '0.9.0', now - 3_600_000, 0);
    instances.leave('relay-old', now - 3_000_000);
    instances.join('relay-dead', '1.0.0', now - 600_000, 0);
    instances.heartbeat('relay-dead', now - MEMBER_STALE_MS - 5_000);
    instances.join('relay-a', '1.0.0', now - 60_000, 0);
    instances.heartbeat('relay-a', now - 2_000);
    // relay-a delivers for a mailbox and runs the alerts; relay-dead's mailbox lease ran out.
    const lease = panel.fx.store.db.prepare('INSERT INTO leases (name, holder, held_until) VALUES (?, ?, ?)');
    lease.run('lane:mailbox:ap@contoso.com', 'relay-a', now + 20_000);
    lease.run('lane:server:3', 'relay-a', now + 20_000);
    lease.run('job:alerts', 'relay-a', now + 60_000);
    lease.run('lane:mailbox:old@contoso.com', 'relay-dead', now - 1);
    const agent = await signedIn(panel, 'viewer@contoso.com');
    const page = await agent.get('/cluster');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<a href="/cluster">Cluster</a>');
    const text = visibleText(page.text);
    expect(text).toContain('This relay keeps its store in SQLite in its data folder: it is the only instance.');
    expect(text).toMatch(
      /relay-a \(this one\) Running 0 ap@contoso\.com, email server 3 alerts 1\.0\.0 .+relay-dead Gone \(no heartbeat\) 0 — — 1\.0\.0 .+relay-old Stopped 0 — — 0\.9\.0 .+stopped/,
    );
  });
});
