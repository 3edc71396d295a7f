/**
 * Just enough RFC 5322 header reading for the Exchange emulator's Send As check:
 * find a header field in the raw message and take the first address out of it.
 */

/** The header section of a raw message (up to the first empty line), unfolded. */
export function headerFields(raw: Buffer): Array<{ name: string; value: string }> {
  const text = raw.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const section = end < 0 ? text : text.slice(0, end);
  const fields: Array<{ name: string; value: string }> = [];
  for (const line of section.split(/\r?\n/)) {
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last.value += line; // RFC 5322 §2.2.3 unfolding
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

/** The value of the first `name` header field, if any. */
export function headerValue(raw: Buffer, name: string): string | undefined {
  return headerFields(raw).find((f) => f.name === name.toLowerCase())?.value;
}

/**
 * The first addr-spec of an address list: the part in angle brackets, or the bare
 * address; display names, quoted strings, comments and group names are skipped.
 */
export function firstAddress(value: string): string | undefined {
  let bare = '';
  let inQuote = false;
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (inQuote || depth > 0) {
      if (c === '\\') i++;
      else if (inQuote && c === '"') inQuote = false;
      else if (!inQuote && c === '(') depth++;
      else if (!inQuote && c === ')') depth--;
      continue;
    }
    if (c === '"') inQuote = true;
    else if (c === '(') depth = 1;
    else if (c === '<') {
      const end = value.indexOf('>', i);
      return end < 0
        ? undefined
        : value
            .slice(i + 1, end)
            .trim()
            .toLowerCase() || undefined;
    } else if (c === ':')
      bare = ''; // a group name ends here
    else if (c === ',' || c === ';') break;
    else bare += c;
  }
  const address = bare.trim().toLowerCase();
  return address.includes('@') ? address : undefined;
}
