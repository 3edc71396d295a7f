/**
 * What a host name is, said once (RFC 1123 labels: letters, digits and inner
 * hyphens, at most 63 characters each and 253 in all), for the SMTP host of an
 * email server and the host devices are told to use.
 */

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Whether `value` is a host name such as relay.contoso.com; IP addresses are checked apart. */
export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}
