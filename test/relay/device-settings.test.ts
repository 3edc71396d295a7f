/**
 * The device settings as one function computes them for the relay user page,
 * the Networks page and `relay365 relay-user add`: which server address, which
 * ports with which security, and whether the device logs in.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deviceSettingLines, deviceSettings } from '../../src/relay/device-settings.js';

/** A machine with loopback, a LAN address, a link-local IPv6 address and a global IPv6 address. */
const INTERFACES: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  lo: [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
    {
      address: '::1',
      netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      family: 'IPv6',
      mac: '00:00:00:00:00:00',
      internal: true,
      cidr: '::1/128',
      scopeid: 0,
    },
  ],
  eth0: [
    { address: '192.0.2.10', netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:12:34:56', internal: false, cidr: '192.0.2.10/24' },
    {
      address: 'fe80::5054:ff:fe12:3456',
      netmask: 'ffff:ffff:ffff:ffff::',
      family: 'IPv6',
      mac: '52:54:00:12:34:56',
      internal: false,
      cidr: 'fe80::5054:ff:fe12:3456/64',
      scopeid: 2,
    },
    {
      address: '2001:db8::10',
      netmask: 'ffff:ffff:ffff:ffff::',
      family: 'IPv6',
      mac: '52:54:00:12:34:56',
      internal: false,
      cidr: '2001:db8::10/64',
      scopeid: 0,
    },
  ],
};
const ONLY_LOOPBACK: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: INTERFACES.lo };

/** The settings for `env`, as a label → value map of the lines every front end shows. */
function settingsFor(env: Record<string, string>, login: string | null = 'printer1', interfaces = INTERFACES) {
  const settings = deviceSettings({ listen: loadConfig(env), login, interfaces });
  return { settings, lines: deviceSettingLines(settings).map(({ label, value }) => `${label}: ${value}`) };
}

describe('device settings', () => {
  it("tells devices this machine's reachable addresses for a wildcard listener, never localhost", () => {
    const v4 = settingsFor({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525' });
    expect(v4.settings.hosts).toEqual(['192.0.2.10']);
    expect(v4.lines.slice(0, 3)).toEqual(['SMTP server: 192.0.2.10', 'Port: 2525', 'Security: STARTTLS']);
    expect(v4.settings.notes.join(' ')).toContain('set RELAY365_SMTP_PUBLIC_HOST (and RELAY365_SMTP_PUBLIC_PORTS)');

    // `::` takes IPv4 and IPv6 clients; a link-local address needs a zone no device can enter.
    expect(settingsFor({ RELAY365_SMTP_LISTEN: '[::]:2525' }).settings.hosts).toEqual(['192.0.2.10', '2001:db8::10']);
  });

  it('tells devices RELAY365_SMTP_PUBLIC_HOST when it is set, without a note', () => {
    const { settings, lines } = settingsFor({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525', RELAY365_SMTP_PUBLIC_HOST: 'relay.contoso.test' });
    expect(lines[0]).toBe('SMTP server: relay.contoso.test');
    expect(settings.notes).toEqual([]);
  });

  it('names the listen address itself when the listener listens on one address', () => {
    const { settings } = settingsFor({ RELAY365_SMTP_LISTEN: '192.0.2.77:2525' });
    expect(settings.hosts).toEqual(['192.0.2.77']);
    expect(settings.notes).toEqual([]);
  });

  it('says localhost only for a loopback-only listener, and that only this machine can reach it', () => {
    const { settings, lines } = settingsFor({ RELAY365_SMTP_LISTEN: '127.0.0.1:2525' });
    expect(lines[0]).toBe('SMTP server: localhost');
    expect(settings.notes).toEqual([
      'Only this machine can reach relay365: RELAY365_SMTP_LISTEN (127.0.0.1) listens on loopback. ' +
        'For devices on the network, set it to 0.0.0.0:2525 or to an address of this machine.',
    ]);
    const lonely = settingsFor({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525' }, 'printer1', ONLY_LOOPBACK);
    expect(lonely.settings.hosts).toEqual(['localhost']);
    expect(lonely.settings.notes).toEqual(['Only this machine can reach relay365: it has no network address besides loopback.']);
  });

  it('gives the published ports of the container recipe: STARTTLS on 587 or 25, SSL/TLS on 465', () => {
    const { lines } = settingsFor({
      RELAY365_SMTP_LISTEN: '0.0.0.0:2525',
      RELAY365_SMTPS_LISTEN: '0.0.0.0:4465',
      RELAY365_SMTP_PUBLIC_HOST: 'relay.contoso.test',
      RELAY365_SMTP_PUBLIC_PORTS: '587,25',
      RELAY365_SMTPS_PUBLIC_PORTS: '465',
    });
    expect(lines).toEqual([
      'SMTP server: relay.contoso.test',
      'Port: 587 or 25',
      'Security: STARTTLS',
      'Or: port 465 with security SSL/TLS (implicit TLS)',
      'Authentication: on (PLAIN or LOGIN)',
      'Username: printer1',
      "Password: the relay user's password",
    ]);
  });

  it('uses the port a listener on port 0 really bound', () => {
    const settings = deviceSettings({
      listen: loadConfig({ RELAY365_SMTP_LISTEN: '127.0.0.1:0', RELAY365_SMTPS_LISTEN: '127.0.0.1:0' }),
      bound: { smtp: '127.0.0.1:40125', smtps: '127.0.0.1:40465' },
      login: 'printer1',
      interfaces: INTERFACES,
    });
    expect(settings.connections).toEqual([
      { ports: [40125], security: 'STARTTLS' },
      { ports: [40465], security: 'SSL/TLS' },
    ]);
  });

  it('offers a relay user no security only when plain-text AUTH is allowed, warning that the password then travels in clear', () => {
    expect(settingsFor({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525' }).settings.connections).toEqual([{ ports: [2525], security: 'STARTTLS' }]);
    const { lines } = settingsFor({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525', RELAY365_ALLOW_PLAINTEXT_AUTH: 'true' });
    expect(lines).toContain('Or: port 2525 with security none: the password then crosses the network in clear text');
  });

  it('tells a device in an allowed network to send without logging in, with or without TLS', () => {
    const { settings, lines } = settingsFor({ RELAY365_SMTP_LISTEN: '0.0.0.0:2525', RELAY365_SMTPS_LISTEN: '0.0.0.0:465' }, null);
    expect(settings.login).toBeNull();
    expect(lines).toEqual([
      'SMTP server: 192.0.2.10',
      'Port: 2525',
      'Security: STARTTLS',
      'Or: port 465 with security SSL/TLS (implicit TLS)',
      'Or: port 2525 with security none',
      'Authentication: off: devices whose address is in an allowed network send without logging in',
    ]);
  });
});
