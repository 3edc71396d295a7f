import { describe, expect, it } from 'vitest';
import { classify, retryDelay, RETRY_DELAYS_MS, QUOTA_PAUSE_MS, type Decision, type Failure } from '../../src/relay/classify.js';

const smtp = (reply: string): Failure => ({ kind: 'smtp', code: Number(reply.slice(0, 3)), reply });

describe('classify', () => {
  const table: [string, Failure, Decision][] = [
    ['retries a 451', smtp('451 4.7.500 Server busy. Please try again later.'), { action: 'retry', throttle: false }],
    ['retries a 421', smtp('421 4.3.2 Service not available, closing transmission channel'), { action: 'retry', throttle: false }],
    [
      'fails a 550 unknown recipient',
      smtp('550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'),
      { action: 'fail' },
    ],
    ['fails SendAsDenied', smtp('554 5.2.252 SendAsDenied; relay@contoso.test not allowed to send as x@y.test'), { action: 'fail' }],
    ['holds on a rejected token (5.7.3)', smtp('535 5.7.3 Authentication unsuccessful'), { action: 'hold' }],
    [
      'holds when SMTP AUTH is disabled (5.7.139)',
      smtp('535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.'),
      { action: 'hold' },
    ],
    ['holds when not authenticated (5.7.57)', smtp('530 5.7.57 Client not authenticated to send mail.'), { action: 'hold' }],
    [
      'holds when basic auth is refused (5.7.30)',
      smtp('550 5.7.30 Basic authentication is not supported for Client Submission.'),
      { action: 'hold' },
    ],
    ['holds on mailbox logon failure', smtp('430 4.2.0 STOREDRV; mailbox logon failure'), { action: 'hold' }],
    ['holds on a tenant block (5.7.705)', smtp('550 5.7.705 Access denied, tenant has exceeded threshold'), { action: 'hold' }],
    ['throttles on 432 4.3.2', smtp('432 4.3.2 Concurrent connections limit exceeded.'), { action: 'retry', throttle: true }],
    [
      "retries High Volume Email's refusal of a token near its expiry (501 5.5.127)",
      smtp('501 5.5.127 Authentication token expired'),
      { action: 'retry', throttle: false },
    ],
    [
      'pauses on the daily quota',
      smtp('554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed'),
      { action: 'pause', forMs: QUOTA_PAUSE_MS },
    ],
    [
      'pauses on sender throttling',
      smtp('550 5.2.253 Sender throttled due to continuous send as denied errors'),
      { action: 'pause', forMs: QUOTA_PAUSE_MS },
    ],
    [
      'retries a temporary access block',
      smtp('451 4.7.650 The mail server has been temporarily rate limited'),
      { action: 'retry', throttle: false },
    ],
    [
      'retries a network failure',
      { kind: 'network', code: 'ECONNECTION', message: 'Connection closed' },
      { action: 'retry', throttle: false },
    ],
    ['retries a timeout', { kind: 'network', code: 'ETIMEDOUT', message: 'Timeout' }, { action: 'retry', throttle: false }],
    [
      'holds on a wrong client secret',
      { kind: 'token', code: 'AADSTS7000215', transient: false, message: 'Invalid client secret' },
      { action: 'hold' },
    ],
    ['holds on a revoked grant', { kind: 'token', code: 'AADSTS50173', transient: false, message: 'revoked' }, { action: 'hold' }],
    [
      'retries a token endpoint outage',
      { kind: 'token', code: 'token_error', transient: true, message: 'socket hang up' },
      { action: 'retry', throttle: false },
    ],
  ];
  it.each(table)('%s', (_name, failure, decision) => {
    expect(classify(failure)).toEqual(decision);
  });
});

describe('retryDelay', () => {
  it('follows 1 m, 5 m, 15 m, 30 m, 1 h, 2 h, then every 4 h', () => {
    const minutes = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelay(n) / 60_000);
    expect(minutes).toEqual([1, 5, 15, 30, 60, 120, 240, 240, 240]);
    expect(RETRY_DELAYS_MS).toHaveLength(7);
  });
});
