/**
 * The two smtp-server internals relay365 relies on (src/relay/smtp-server.ts),
 * each pinned by what relay365 needs of it, so that an smtp-server update that
 * changes one fails here instead of in production.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { connectRaw } from '../helpers/smtp-client.js';

const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A loopback listener whose sockets become `Connection`s of a bare SMTPServer through `attach`. */
async function listen(attach: (smtp: SMTPServer, socket: net.Socket) => void): Promise<number> {
  const smtp = new SMTPServer({ logger: false, disableReverseLookup: true, authOptional: true, hideSTARTTLS: true });
  const server = net.createServer((socket) => attach(smtp, socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('smtp-server internals relay365 uses', () => {
  it('_setListeners wires the socket and calls back at once, so connectionReady() greets without init()’s wait', async () => {
    let calledBack = false;
    const port = await listen((smtp, socket) => {
      const connection = new SMTPConnection(smtp, socket);
      smtp.connections.add(connection);
      connection._setListeners(() => {
        calledBack = true;
        connection.connectionReady();
      });
      // Synchronously, before any timer: relay365 relies on no delay here.
      expect(calledBack).toBe(true);
    });
    const client = await connectRaw(port);
    expect(client.greeting).toMatch(/^220 /);
    expect(await client.command('EHLO contract.test')).toMatch(/^250/);
    client.close();
  });

  it('_onCommand receives every command line as a Buffer with a callback, and the handler runs when passed on', async () => {
    const seen: string[] = [];
    class Recording extends SMTPConnection {
      override _onCommand(command: Buffer, callback?: () => void): void {
        expect(Buffer.isBuffer(command)).toBe(true);
        expect(typeof callback).toBe('function');
        seen.push(command.toString());
        super._onCommand(command, callback);
      }
    }
    const port = await listen((smtp, socket) => {
      const connection = new Recording(smtp, socket);
      smtp.connections.add(connection);
      connection._setListeners(() => connection.connectionReady());
    });
    const client = await connectRaw(port);
    await client.command('EHLO contract.test');
    expect(await client.command('NOOP')).toMatch(/^250 /);
    // Pipelined commands arrive one at a time, each after the previous one was answered.
    client.write('RSET\r\nNOOP\r\n');
    expect(await client.reply()).toMatch(/^250 /);
    expect(await client.reply()).toMatch(/^250 /);
    expect(await client.command('QUIT')).toMatch(/^221 /);
    expect(seen).toEqual(['EHLO contract.test', 'NOOP', 'RSET', 'NOOP', 'QUIT']);
  });
});
