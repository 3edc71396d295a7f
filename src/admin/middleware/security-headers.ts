/**
 * Security headers for every answer: a strict Content-Security-Policy (only
 * the panel's own stylesheet and script), no framing, no referrer leaking
 * OAuth codes or ids to other sites.
 */
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { AdminEnv } from '../env.js';

/** Security headers middleware. */
export function securityHeaders(): MiddlewareHandler<AdminEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      scriptSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      // form-action is left out: Authorize Account is a form whose answer redirects to Microsoft.
      baseUri: ["'none'"],
      frameAncestors: ["'none'"],
    },
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts,
    // which the CSRF check must refuse.
    referrerPolicy: 'same-origin',
    strictTransportSecurity: false,
    crossOriginEmbedderPolicy: false,
  });
}
