/**
 * Refuses a request with 403 unless the signed-in user holds a permission.
 * Views hide what a user may not do; this is what enforces it.
 */
import type { MiddlewareHandler } from 'hono';
import type { AdminEnv } from '../env.js';
import { can, PERMISSION_LABELS, type Permission } from '../permissions.js';
import { ErrorPage } from '../views/error-page.js';

/** Permission middleware for one permission. */
export function requirePermission(permission: Permission): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    if (can(c.var.user, permission)) return next();
    return c.render(
      ErrorPage({
        title: 'Not allowed',
        message: `This needs the "${PERMISSION_LABELS[permission]}" permission. Ask a Super Admin to grant it on the Users page.`,
      }),
      { title: 'Not allowed', status: 403 },
    );
  };
}
