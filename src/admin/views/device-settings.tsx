/**
 * The SMTP settings a device enters to relay through relay365, as computed by
 * src/relay/device-settings.ts: one line per field of a device's SMTP form,
 * then what the admin should know about them.
 */
import { deviceSettingLines, type DeviceSettings as Settings } from '../../relay/device-settings.js';

export function DeviceSettings({ settings }: { settings: Settings }) {
  return (
    <>
      <dl class="facts device-settings">
        {deviceSettingLines(settings).map(({ label, value }) => (
          <>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </>
        ))}
      </dl>
      {settings.notes.map((note) => (
        <p class="notice">{note}</p>
      ))}
    </>
  );
}
