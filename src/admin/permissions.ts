/**
 * Who may do what: `Settings: Update Settings` lets a user change email
 * servers and the queue; `Make this user a Super Admin` grants everything,
 * including the Users page.
 */
import type { User } from '../store/users.js';

/** The two permission labels, verbatim from the product contract. */
export const PERMISSION_LABELS = {
  updateSettings: 'Settings: Update Settings',
  superAdmin: 'Make this user a Super Admin',
} as const;

export type Permission = 'updateSettings' | 'superAdmin';

/** True when `user` holds `permission` (a Super Admin holds every permission). */
export function can(user: User | null, permission: Permission): boolean {
  if (!user) return false;
  if (user.isSuperAdmin) return true;
  return permission === 'updateSettings' && user.canUpdateSettings;
}
