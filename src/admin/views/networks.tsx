/**
 * The Networks page: the allowed networks whose clients relay without a
 * password (stored rules with Remove, the add form, and the rules from
 * RELAY365_RELAY_NETWORKS read-only), a warning for any that is wide, the
 * settings a device in such a network enters, then the SMTP listener.
 */
import type { DeviceSettings as Settings } from '../../relay/device-settings.js';
import type { NetworkRule } from '../../store/networks.js';
import type { EmailServer } from '../../store/servers.js';
import type { ListenerInfo } from '../env.js';
import { CsrfField, FieldError, Time } from './components.js';
import { DeviceSettings } from './device-settings.js';
import { ListTable, type Column } from './list-table.js';
import { ListenerSection } from './listener-info.js';
import { NoServerYet, ServerSelect } from './relay-access-fields.js';

/** The add form as typed, with a message per field that did not validate. */
export interface NetworkForm {
  values: { cidr: string; serverId: string };
  errors: Partial<Record<'cidr' | 'serverId', string>>;
  /** The network was refused as too wide and the user is a Super Admin: offer the box that forces it. */
  offerForce?: boolean;
}

export interface NetworkRow {
  rule: NetworkRule;
  serverName: string;
}

export interface NetworksPageProps {
  rows: NetworkRow[];
  /** CIDRs from RELAY365_RELAY_NETWORKS. */
  environment: readonly string[];
  defaultServer: EmailServer | undefined;
  servers: EmailServer[];
  listener: ListenerInfo | null;
  /** What a device in an allowed network enters. */
  device: Settings;
  canEdit: boolean;
  csrf: string;
  form: NetworkForm;
  /** One line per rule, stored or from the environment, that is wider than a /16 (IPv4) or /48 (IPv6). */
  wideWarnings: readonly string[];
}

function WideWarnings({ warnings }: { warnings: readonly string[] }) {
  if (warnings.length === 0) return null;
  return (
    <div class="warning" role="alert">
      <p>
        <strong>Wide networks.</strong> Narrow these to the devices that need to send:
      </p>
      <ul>
        {warnings.map((warning) => (
          <li>{warning}</li>
        ))}
      </ul>
    </div>
  );
}

/** A row of the rule table: a stored rule, or a network from RELAY365_RELAY_NETWORKS. */
type RuleRow = NetworkRow | { environment: string };

/** The rule table's columns; `defaultName` is where the environment's networks go, Remove only for editors. */
function ruleColumns(defaultName: string, canEdit: boolean, csrf: string): (Column<RuleRow> | false)[] {
  return [
    { header: 'Network', cell: (row) => ('environment' in row ? row.environment : row.rule.cidr) },
    {
      header: 'Email server',
      cell: (row) => ('environment' in row ? defaultName : <a href={`/servers/${row.rule.serverId}`}>{row.serverName}</a>),
    },
    {
      header: 'Source',
      cell: (row) =>
        'environment' in row ? (
          'environment (RELAY365_RELAY_NETWORKS)'
        ) : (
          <>
            added <Time at={row.rule.createdAt} />
          </>
        ),
    },
    canEdit && {
      header: 'Remove',
      cell: (row) =>
        'environment' in row ? (
          <span class="muted">change the variable and restart</span>
        ) : (
          <form method="post" action="/networks/remove" class="inline" data-confirm={`Remove ${row.rule.cidr}?`}>
            <CsrfField token={csrf} />
            <input type="hidden" name="cidr" value={row.rule.cidr} />
            <button type="submit" class="danger" aria-label={`Remove ${row.rule.cidr}`}>
              Remove
            </button>
          </form>
        ),
    },
  ];
}

function RuleTable({
  rows,
  environment,
  defaultServer,
  canEdit,
  csrf,
}: Omit<NetworksPageProps, 'servers' | 'listener' | 'device' | 'form' | 'wideWarnings'>) {
  if (rows.length === 0 && environment.length === 0) {
    return <p>No network may relay without a password: every client needs a relay user.</p>;
  }
  const defaultName = defaultServer ? `the default server (${defaultServer.name})` : 'the default server (none yet)';
  return (
    <>
      <ListTable
        class="networks"
        columns={ruleColumns(defaultName, canEdit, csrf)}
        rows={[...rows, ...environment.map((cidr) => ({ environment: cidr }))]}
        rowClass={(row) => ('environment' in row ? 'from-environment' : undefined)}
        scroll
      />
      {environment.length > 0 ? (
        <p class="help">
          The networks marked environment come from the RELAY365_RELAY_NETWORKS variable and always go to the default email server. They
          cannot be removed here: change the variable and restart relay365.
        </p>
      ) : null}
    </>
  );
}

function AddForm({ servers, csrf, form }: Pick<NetworksPageProps, 'servers' | 'csrf' | 'form'>) {
  return (
    <form method="post" action="/networks" class="narrow">
      <CsrfField token={csrf} />
      <label for="network-cidr">Network (CIDR)</label>
      <input
        id="network-cidr"
        name="cidr"
        required
        autocomplete="off"
        placeholder="192.168.10.0/24"
        value={form.values.cidr}
        aria-invalid={form.errors.cidr ? 'true' : undefined}
        aria-describedby="network-cidr-error network-cidr-help"
      />
      <p class="help" id="network-cidr-help">
        IPv4 or IPv6, such as 192.168.10.0/24 or 2001:db8:10::/64; a single address is its own network.
      </p>
      <FieldError id="network-cidr" message={form.errors.cidr} />
      {form.offerForce ? (
        <label class="choice">
          <input type="checkbox" name="force" value="1" /> Allow this network anyway: anyone in it can send mail as your tenant without a
          password
        </label>
      ) : null}
      <ServerSelect id="network-server" servers={servers} value={form.values.serverId} error={form.errors.serverId} />
      <button type="submit">Add network</button>
    </form>
  );
}

export function NetworksPage(props: NetworksPageProps) {
  const { servers, listener, device, canEdit, csrf, form, wideWarnings } = props;
  return (
    <>
      <p class="lead">
        A client whose address lies in one of these networks may relay without logging in, to the email server of the most specific matching
        network. Anything that can send from such an address can then mail as your organization, so keep each network as narrow as the
        devices in it: a printer's own address (a /32) rather than the whole office.
      </p>
      <WideWarnings warnings={wideWarnings} />
      <RuleTable {...props} />
      {canEdit ? (
        <section aria-labelledby="add-heading">
          <h2 id="add-heading">Add a network</h2>
          {servers.length === 0 ? <NoServerYet canEdit /> : <AddForm servers={servers} csrf={csrf} form={form} />}
        </section>
      ) : null}
      <section aria-labelledby="device-heading">
        <h2 id="device-heading">Device settings</h2>
        <DeviceSettings settings={device} />
      </section>
      <ListenerSection info={listener} />
    </>
  );
}
