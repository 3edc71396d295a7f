/**
 * The usage text of every `relay365` command, as data: `relay365 help` prints
 * them all, `relay365 help COMMAND` and `relay365 COMMAND --help` one, and a
 * mistyped option or subcommand is followed by its command's part.
 */
import { REFUSAL_REASON_KEYS } from '../relay/refusals.js';
import { serverOptionsUsage } from './server-options.js';

const SERVER = `  relay365 server add --name N [--preset office365|hve|acs] [options]
                                         add an email server; a preset fills method, host, port, security and limits
                                         for Microsoft 365, High Volume Email or Azure Communication Services
  relay365 server set NAME [options]     change settings of an email server
  relay365 server list [--json]          show email servers, their status and the fix for any problem
  relay365 server remove NAME [--drop-queued]

server options:
${serverOptionsUsage().join('\n')}
`;

const QUEUE = `  relay365 queue list [--json] [--server NAME] [--status STATUS] [--limit N]
                                         show the newest messages (100 unless --limit says more, at most 100000);
                                         STATUS is queued, deferred, sending, held, delivered or failed
  relay365 queue show ID [--json]        one message: envelope, recipients, events, Microsoft's last reply and its fix
  relay365 queue retry ID | --server NAME | --held
                                         make waiting mail due now: one message, a server's deferred and held mail, or all held mail
  relay365 queue delete ID               delete a message and its spooled bytes (not while it is being delivered)
`;

/** `text` in lines of at most `width` characters, each indented by `indent` spaces. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && `${lines[last]} ${word}`.length <= width) lines[last] = `${lines[last]} ${word}`;
    else lines.push(word);
  }
  return lines.map((line) => `${' '.repeat(indent)}${line}`).join('\n');
}

const REFUSED = `  relay365 refused list [--client ADDR] [--reason REASON] [--limit N] [--json]
                                         show refused clients, most recently seen first, with the fix for each (100 unless
                                         --limit says more); --client matches the start of an address; REASON is one of
${wrap(REFUSAL_REASON_KEYS.join(', '), 41, 80)}
`;

const SEND_TEST = `  relay365 send-test --server NAME --to ADDRESS [--subject TEXT] [--body TEXT]
                                         send a test email now and print the SMTP conversation (AUTH hidden) and the fix when it fails
`;

const API_TOKEN = `  relay365 api-token add --name N --scope read|write
                                         add a token for the REST API (/api/v1); it is shown once, on the last line
  relay365 api-token list [--json]       show API tokens: scope, first characters, created, last used
  relay365 api-token revoke NAME         revoke a token: requests with it get 401 from then on
`;

const RELAY_USER = `  relay365 relay-user add --name N --server SERVER [--password-file FILE] [--allow-from LIST]
                                         add an SMTP AUTH user; without --password-file a password is generated and shown once (last line)
  relay365 relay-user list [--json]      show relay users, their server, allowed From and last use (never a password)
  relay365 relay-user set NAME [--server SERVER] [--allow-from LIST] [--password-file FILE] [--disabled true|false]
  relay365 relay-user remove NAME

relay-user options:
  --allow-from LIST  addresses and @domains the user may send as, comma-separated (e.g. scan@contoso.com,@contoso.com);
                     empty ('') means any sender
  --password-file FILE  a file holding the password (12 to 128 characters; a trailing newline is ignored)
`;

const NETWORK = `  relay365 network add --cidr CIDR --server SERVER [--force]
                                         let a network (e.g. 192.168.10.0/24, 2001:db8::/48) relay without SMTP AUTH;
                                         --force allows one wider than a /8 (IPv4) or /32 (IPv6)
  relay365 network list [--json]         show allowed networks, stored ones and those from RELAY365_RELAY_NETWORKS
  relay365 network remove --cidr CIDR
`;

const BACKUP = `  relay365 backup --to FILE [--without-key]
                                         write a consistent archive of the data folder (database, waiting mail, key), also while relay365 runs;
                                         --without-key leaves the encryption key out (keep it elsewhere)
`;

const RESTORE = `  relay365 restore --from FILE           put a backup into an empty data folder (RELAY365_DATA_DIR); then start relay365
`;

const CLUSTER = `  relay365 cluster status [--json]       the instances that run on this store: running, stopped or gone, with their last heartbeat
`;

const STORE = `  relay365 store copy [--to URL]         copy the data folder's SQLite database (settings, users, queue with its mail, log) into an
                                         empty PostgreSQL database (--to, else RELAY365_DATABASE_URL), to run a cluster; stop relay365 first
`;

const DOCTOR = `  relay365 doctor [SERVER] [--json]      check the data folder, the clock, the network and TLS, a token and an SMTP sign-in
                                         for one email server (all of them without SERVER), with the fix for each failed step;
                                         sends no mail; exit code 0 only when every step passes
`;

const START = `  relay365 [start]                       run the relay and its admin panel (settings from RELAY365_* environment variables);
                                         creates the data folder, its database and key on first start
`;

const INIT = `  relay365 init                          create the data folder (RELAY365_DATA_DIR), its database and, without
                                         RELAY365_SECRET_KEY, its key; other commands refuse a folder without a database
`;

/** Each command's part of the usage, in the order `relay365 help` prints them. */
export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  start: START,
  init: INIT,
  server: SERVER,
  queue: QUEUE,
  refused: REFUSED,
  'relay-user': RELAY_USER,
  network: NETWORK,
  'send-test': SEND_TEST,
  'api-token': API_TOKEN,
  doctor: DOCTOR,
  backup: BACKUP,
  restore: RESTORE,
  cluster: CLUSTER,
  store: STORE,
};

const HELP = `  relay365 help [COMMAND]                this text, or one command's part of it (also: relay365 COMMAND --help)
  relay365 COMMAND --verbose             first say which data folder the command uses (always so on a terminal)
`;

/** Everything `relay365 help` prints. */
export const USAGE = `relay365: an SMTP relay that delivers to Microsoft 365 with OAuth 2.0

usage:
${Object.values(COMMAND_USAGE).join('\n')}
${HELP}`;

/** One command's usage; undefined for a command relay365 does not have. */
export function commandUsage(command: string): string | undefined {
  return Object.hasOwn(COMMAND_USAGE, command) ? `usage:\n${COMMAND_USAGE[command]}` : undefined;
}
