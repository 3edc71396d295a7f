import { describe, expect, it } from 'vitest';
import { clientKey, createConnectionGate } from '../../src/relay/connection-gate.js';

const allowed = (address: string): boolean => address.startsWith('10.');

describe('connection gate', () => {
  it('counts IPv4 clients per address and IPv6 clients per /64', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:0db8:0000:0001:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });

  it('refuses the connection past the per-client limit and admits it again once one session ended', () => {
    const gate = createConnectionGate({ perClient: 2, total: 100 }, allowed);
    expect(gate.admit('a', '2001:db8:0:1::5')).toBeNull();
    expect(gate.admit('b', '2001:db8:0:1::6')).toBeNull();
    const refused = gate.admit('c', '2001:db8:0:1:ffff::9');
    expect(refused?.reason).toBe('too_many_connections');
    expect(`${refused?.reply.responseCode} ${refused?.reply.message}`).toMatch(
      /^421 4\.7\.0 Too many connections from your address \(limit 2\)/,
    );
    expect(gate.admit('d', '2001:db8:0:2::5')).toBeNull();
    gate.release('a');
    gate.release('a');
    expect(gate.admit('e', '2001:db8:0:1::7')).toBeNull();
    expect(gate.admit('f', '2001:db8:0:1::8')?.reason).toBe('too_many_connections');
    expect(gate.open()).toBe(3);
  });

  it('keeps a fifth of all connections for allowed networks and relay users', () => {
    const gate = createConnectionGate({ perClient: 50, total: 10 }, allowed);
    for (let i = 0; i < 8; i++) expect(gate.admit(`anon${i}`, `192.0.2.${i}`)).toBeNull();
    expect(gate.admit('anon8', '192.0.2.8')?.reason).toBe('server_busy');
    expect(gate.admit('app1', '10.0.0.1')).toBeNull();
    // A session that logged in no longer counts as anonymous.
    gate.trust('anon0');
    expect(gate.admit('anon9', '192.0.2.9')).toBeNull();
    expect(gate.admit('app2', '10.0.0.2')?.reason).toBe('server_busy');
    const busy = gate.admit('anon10', '192.0.2.10');
    expect(`${busy?.reply.responseCode} ${busy?.reply.message}`).toMatch(/^421 4\.3\.2 /);
    gate.release('anon1');
    expect(gate.admit('app2', '10.0.0.2')).toBeNull();
  });
});
