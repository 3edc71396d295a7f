/**
 * A backup or restore that cannot be done as asked (no database to back up, a
 * data folder that is not empty, an archive that fails its checks): one line
 * that says why, printed by the command line with exit code 2.
 */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}
