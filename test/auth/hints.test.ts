import { describe, expect, it } from 'vitest';
import { hintForClaim, hintForSmtpReply, hintForTokenError } from '../../src/auth/hints.js';

describe('hints', () => {
  it.each([
    ['7000215', /Secret ID/],
    ['7000222', /new client secret/],
    ['700016', /Client ID/],
    ['90002', /Tenant ID/],
    ['65001', /consent/],
    ['700082', /Authorize Account again/],
    ['50173', /Authorize Account again/],
    ['50011', /Redirect URI/],
    ['54005', /Authorize Account again/],
  ])('explains AADSTS%s', (code, fix) => {
    expect(hintForTokenError(code, null)?.fix).toMatch(fix);
  });

  it('falls back to the OAuth error when there is no AADSTS number', () => {
    expect(hintForTokenError(null, 'invalid_grant')?.fix).toMatch(/Authorize Account/);
    expect(hintForTokenError('1', 'nothing')).toBeNull();
  });

  it.each([
    ['aud', /SMTP Resource/],
    ['roles', /SMTP\.SendAsApp.*Grant admin consent/],
    ['scp', /delegated permission .*SMTP\.Send.*Authorize Account/],
    ['tid', /same tenant/],
    ['appid', /Client ID/],
    ['exp', /clock/],
  ] as const)('explains a token whose %s claim Exchange would refuse', (claim, fix) => {
    expect(hintForClaim(claim).fix).toMatch(fix);
  });

  it.each([
    ['535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.', /Authenticated SMTP/],
    ["535 5.7.139 Authentication unsuccessful, user is locked by your organization's security defaults policy", /Security Defaults/],
    [
      '535 5.7.139 Authentication unsuccessful, the request did not meet the criteria to be authenticated successfully',
      /Conditional Access/,
    ],
    ['535 5.7.3 Authentication unsuccessful', /New-ServicePrincipal/],
    ['554 5.2.252 SendAsDenied; a not allowed to send as b', /From Address Handling to rewrite/],
    [
      '554 5.2.252 SendAsDenied; a not allowed to send as b',
      /Add-RecipientPermission -Identity <from address> -Trustee <mailbox> -AccessRights SendAs.*Send As Addresses/,
    ],
    ['554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied; x', /service principal/],
    ['550 5.7.60 SMTP; Client does not have permissions to send as this sender', /From Address Handling to rewrite/],
    ['550 5.2.252 Sender throttled due to continuous errors', /wait for Microsoft/],
    ['430 4.2.0 STOREDRV; mailbox logon failure', /Add-MailboxPermission/],
    ['530 5.7.57 Client not authenticated to send mail', /STARTTLS/],
  ])('explains %s', (reply, fix) => {
    expect(hintForSmtpReply(reply)?.fix).toMatch(fix);
  });
});
