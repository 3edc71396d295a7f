/**
 * A minimal stand-in for Entra ID's token endpoint, for the authorization-code
 * grant only: answers MSAL's code redemption like Microsoft (id_token,
 * client_info, tokens) or with an AADSTS error queued by the test, and records
 * every request. The full Microsoft 365 emulator lives in test/emulator.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

const CERTS = new URL('../emulator/certs/', import.meta.url);

export interface FakeEntra {
  /** `https://localhost:PORT`, the Custom cloud's Authority Host. */
  authorityHost: string;
  /** Form fields of every token request. */
  tokenRequests: Record<string, string>[];
  /** Account the next successful redemption signs in. */
  account: string;
  /** Makes the next token request fail like Entra ID. */
  failNext(aadsts: number, error: string, description: string): void;
  close(): Promise<void>;
}

const TENANT_ID = '5b2d7c1e-8a43-4f6b-9d05-c3e1a7f2b819';
const USER_OID = 'e6a1b3d5-7c9f-4e2a-8b16-0d3f5a7c9e21';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The S256 challenge of a PKCE verifier. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export async function startFakeEntra(): Promise<FakeEntra> {
  const tokenRequests: Record<string, string>[] = [];
  let failure: { status: number; body: unknown } | null = null;
  let authorityHost = '';
  const fake: FakeEntra = {
    authorityHost: '',
    tokenRequests,
    account: 'relay@contoso.test',
    failNext(aadsts, error, description) {
      failure = {
        status: 400,
        body: {
          error,
          error_description: `AADSTS${aadsts}: ${description}\r\nTrace ID: 0000\r\nTimestamp: 2030-01-01 00:00:00Z`,
          error_codes: [aadsts],
          timestamp: '2030-01-01 00:00:00Z',
          trace_id: '0',
          correlation_id: '0',
        },
      };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server: Server = createServer(
    { key: readFileSync(new URL('localhost-key.pem', CERTS)), cert: readFileSync(new URL('localhost.pem', CERTS)) },
    (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const send = (status: number, json: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (req.method !== 'POST' || !/\/oauth2\/v2\.0\/token$/.test(new URL(req.url ?? '/', 'https://localhost').pathname))
          return send(404, { error: 'not_found' });
        const form = Object.fromEntries(new URLSearchParams(body));
        tokenRequests.push(form);
        if (failure) {
          const f = failure;
          failure = null;
          return send(f.status, f.body);
        }
        const now = Math.floor(Date.now() / 1000);
        const idToken = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({
          aud: form['client_id'],
          iss: `${authorityHost}/${TENANT_ID}/v2.0`,
          iat: now,
          nbf: now,
          exp: now + 3600,
          oid: USER_OID,
          preferred_username: fake.account,
          sub: 'subject',
          tid: TENANT_ID,
          ver: '2.0',
        })}.c2lnbmF0dXJl`;
        send(200, {
          token_type: 'Bearer',
          scope: (form['scope'] ?? '')
            .split(' ')
            .filter((s) => s.includes('SMTP.Send'))
            .join(' '),
          expires_in: 3599,
          ext_expires_in: 3599,
          access_token: `at-${now}-secret-access-token`,
          refresh_token: `rt-${now}-secret-refresh-token`,
          id_token: idToken,
          client_info: b64({ uid: USER_OID, utid: TENANT_ID }),
        });
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  authorityHost = `https://localhost:${(server.address() as AddressInfo).port}`;
  fake.authorityHost = authorityHost;
  return fake;
}
