/**
 * Generated SMTP sessions for the listener's fuzz test: a seeded PRNG and a
 * generator of client sessions (random commands and arguments, bad
 * addresses, long lines, binary bytes, AUTH junk, DATA with and without its
 * terminator, pipelined garbage, abrupt endings).
 *
 * Each session also says which messages it could have had queued: for every
 * DATA it sent, the dot-unstuffed bytes up to the first `CRLF . CRLF` in the
 * rest of what it wrote (RFC 5321 §4.5.2), as smtp-server reads them. The
 * server may have refused the DATA, but it can never have queued anything
 * else, so a queued message that matches no candidate is a partial message.
 */

/** A PRNG returning floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: small, fast and good enough to drive a fuzzer; the same seed gives the same sessions. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How a session ends: QUIT then end(), end() alone, destroy() at once, or destroy() after a short delay. */
export type Ending = 'quit' | 'end' | 'destroy' | 'destroy-later';

/** A message the session may have had queued: its token (in the first line, `Subject: TOKEN`) and its exact body. */
export interface Candidate {
  token: string;
  body: Buffer;
}

export interface FuzzSession {
  index: number;
  localAddress: string;
  /** Writes the first chunk as soon as the socket connects, before the greeting. */
  early: boolean;
  /** The bytes, in the writes they go out in; for `quit` the last one is `QUIT`. */
  chunks: Buffer[];
  ending: Ending;
  /** For `destroy-later`: 0 means setImmediate, else a timer of this many ms. */
  delayMs: number;
  /** The kinds of action, for the summary. */
  actions: string[];
  /** Whether it sent relay user `fuzz`'s right password (it may still have been refused). */
  rightPassword: boolean;
  candidates: Candidate[];
}

export interface GeneratorOptions {
  /** Addresses inside RELAY365_RELAY_NETWORKS. */
  insideAddresses: readonly string[];
  /** Addresses outside every network, that get AUTH junk (and so are soon locked out). */
  outsideAddresses: readonly string[];
  /** An outside address used only by sessions that log in correctly. */
  loginAddress: string;
  user: string;
  password: string;
  /** RELAY365_MAX_MESSAGE_SIZE, to aim some messages just over it. */
  maxMessageSize: number;
}

const CRLF = '\r\n';
const TERMINATOR = Buffer.from('\r\n.\r\n');

/** Random helpers over one PRNG. */
function helpers(rng: Rng) {
  const int = (min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
  const chance = (p: number): boolean => rng() < p;
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
  // Four bytes per draw: sessions carry a lot of random bytes.
  const bytes = (n: number): Buffer => {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const r = Math.floor(rng() * 4294967296);
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (r >>> (8 * j)) & 0xff;
    }
    return out;
  };
  /** `n` characters of `alphabet` (single-byte characters), as latin1. */
  const text = (n: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 -_.'): string => {
    const out = bytes(n);
    for (let i = 0; i < n; i++) out[i] = alphabet.charCodeAt((out[i] as number) % alphabet.length);
    return out.toString('latin1');
  };
  return { int, chance, pick, bytes, text };
}

/**
 * Breaks every `DATA` (any case) in generated junk, so that DATA mode only
 * ever starts at the DATA commands the generator means, whose payloads it
 * tracks. Everything else in the junk is left as random as it was.
 */
function withoutDataVerb(buf: Buffer): Buffer {
  for (let i = 0; i + 3 < buf.length; i++) {
    // ASCII letters: | 0x20 folds upper case to lower.
    if (
      ((buf[i] as number) | 0x20) === 0x64 &&
      ((buf[i + 1] as number) | 0x20) === 0x61 &&
      ((buf[i + 2] as number) | 0x20) === 0x74 &&
      ((buf[i + 3] as number) | 0x20) === 0x61
    ) {
      buf[i + 2] = 0x78; // "data" -> "daxa"
    }
  }
  return buf;
}

/**
 * What smtp-server hands the DATA handler for `after` (the bytes following
 * the DATA command line): up to the first CRLF.CRLF, a leading dot removed
 * from every line that starts with two. Null when there is no terminator.
 * Payloads never start with a dot or a line break, so smtp-server's
 * start-of-data special cases do not apply.
 */
export function dataBody(after: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let from = 0;
  for (let p = 1; p < after.length; p++) {
    if (after[p] !== 0x2e || after[p - 1] !== 0x0a) continue;
    if (p >= 2 && after[p - 2] === 0x0d && after[p + 1] === 0x0d && after[p + 2] === 0x0a) {
      parts.push(after.subarray(from, p));
      return Buffer.concat(parts);
    }
    if (after[p + 1] === 0x2e) {
      parts.push(after.subarray(from, p));
      from = p + 1;
    }
  }
  return null;
}

/** Creates the session generator; `next()` returns sessions 0, 1, 2 ... for this seed. */
export function createSessionGenerator(seed: number, options: GeneratorOptions) {
  const rng = mulberry32(seed);
  const { int, chance, pick, bytes, text } = helpers(rng);
  const junk = (n: number): Buffer => withoutDataVerb(bytes(n));
  const junkText = (n: number, alphabet?: string): string => withoutDataVerb(Buffer.from(text(n, alphabet), 'latin1')).toString('latin1');
  const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

  const hostname = (): string =>
    pick([
      () => 'client.example.test',
      () => '',
      () => `[127.0.0.${int(1, 255)}]`,
      () => junkText(int(1, 64)),
      () => junkText(int(300, 5000), 'abcdefghij.'),
      () => 'hôte-ünïcode.test',
      () =>
        junk(int(1, 40))
          .toString('latin1')
          .replace(/[\r\n]/g, ''),
      () => 'a b c',
    ])();

  const goodAddress = (): string => pick(['app@contoso.test', 'relay@contoso.test', 'alice@fabrikam.test', 'bob@fabrikam.test']);
  const address = (): string =>
    pick([
      () => `<${goodAddress()}>`,
      () => `<${goodAddress()}>`,
      () => '<>',
      () => '<a b@x.test>',
      () => '<@>',
      () => goodAddress(),
      () => `<${'l'.repeat(int(250, 400))}@x.test>`,
      () => '<ünï@çø.test>',
      () => '<a\0b@x.test>',
      () => '<@route.test:a@b.test>',
      () => '<"quoted local"@x.test>',
      () => `<${junkText(int(0, 30), 'ab@<>." \\')}>`,
      () =>
        junk(int(0, 30))
          .toString('latin1')
          .replace(/[\r\n]/g, ''),
      () => '',
      () => `<a@${'d'.repeat(int(200, 1000))}.test>`,
    ])();

  const mailParams = (): string =>
    Array.from({ length: int(0, 3) }, () =>
      pick([
        () => ` SIZE=${pick(['abc', '-1', '', '99999999999999999999999', '100', String(options.maxMessageSize + 1), String(int(0, 1e6))])}`,
        () => ` BODY=${pick(['8BITMIME', '7BIT', 'BINARYMIME', 'junk', ''])}`,
        () => ' SMTPUTF8',
        () => ` AUTH=${pick(['<>', 'x@y', junkText(8)])}`,
        () => ` RET=${pick(['FULL', 'HDRS', 'x'])}`,
        () => ` ${junkText(int(1, 10)).toUpperCase()}=${junkText(int(0, 10))}`,
        () => ' =',
      ])(),
    ).join('');

  const rcptParams = (): string =>
    chance(0.8) ? '' : pick([' NOTIFY=NEVER', ' NOTIFY=junk', ' ORCPT=rfc822;x@y', ` ${junkText(6).toUpperCase()}`]);

  /** A DATA payload: `Subject: TOKEN`, then random content, then maybe the terminator. */
  const payload = (token: string): Buffer => {
    const parts: Buffer[] = [Buffer.from(`Subject: ${token}${CRLF}`)];
    if (chance(0.5)) parts.push(Buffer.from(`From: <${goodAddress()}>${CRLF}Message-ID: <${token}@fuzz.test>${CRLF}${CRLF}`));
    const big = chance(0.08);
    for (let n = int(0, 8); n > 0; n--) {
      parts.push(
        pick([
          () => Buffer.from(`${junkText(int(0, 200))}${CRLF}`),
          () => junk(int(1, 2000)),
          () => Buffer.from(`${junkText(int(0, 80))}\n`), // bare LF
          () => Buffer.from(`${junkText(int(0, 80))}\r`), // lone CR
          () => Buffer.from(`..${junkText(int(0, 40))}${CRLF}`), // a line starting with a dot, stuffed
          () => Buffer.from(`..${CRLF}`), // a lone dot line, stuffed
          () => Buffer.from(`.${junkText(int(1, 40))}${CRLF}`), // an unstuffed dot line (RFC says stuff, clients do not)
          () => Buffer.from(`\n..x\n.\n...${CRLF}`),
          () => Buffer.from(`${'ü'.repeat(int(1, 50))}${CRLF}`),
          () => Buffer.from(`${junkText(int(1000, 20_000), 'abcdefgh')}${CRLF}`), // a long line
        ])(),
      );
    }
    if (big) parts.push(Buffer.from(junkText(int(options.maxMessageSize - 2000, 100_000), 'abcdefghij\r\n'), 'latin1'));
    const end = rng();
    if (end < 0.7) parts.push(TERMINATOR);
    else if (end < 0.8)
      parts.push(TERMINATOR, junk(int(1, 200))); // ended, then garbage read as commands
    else if (end < 0.85) parts.push(Buffer.from('\r\n.')); // almost ended
    return Buffer.concat(parts);
  };

  const authJunk = (): string =>
    pick([
      () => `AUTH PLAIN ${b64(bytes(int(0, 60)))}${CRLF}`,
      () => `AUTH PLAIN ${junkText(int(1, 60), 'ab!@#$%^&*()')}${CRLF}`,
      () => `AUTH PLAIN ${b64(`\0${options.user}\0wrong-${junkText(8)}`)}${CRLF}`,
      () => `AUTH PLAIN ${b64(`${junkText(5)}\0${junkText(5)}`)}${CRLF}`,
      () => `AUTH PLAIN${CRLF}${b64(bytes(int(0, 40)))}${CRLF}`,
      () => `AUTH PLAIN${CRLF}*${CRLF}`,
      () => `AUTH LOGIN${CRLF}${b64(options.user)}${CRLF}${b64(`wrong-${junkText(6)}`)}${CRLF}`,
      () => `AUTH LOGIN${CRLF}${junkText(int(0, 100))}${CRLF}${junkText(int(0, 100))}${CRLF}`,
      () => `AUTH LOGIN ${b64(options.user)}${CRLF}*${CRLF}`,
      () => `AUTH LOGIN${CRLF}*${CRLF}`,
      () => `AUTH XOAUTH2 ${b64(`user=${options.user}\x01auth=Bearer ${junkText(40)}\x01\x01`)}${CRLF}`,
      () => `AUTH CRAM-MD5${CRLF}`,
      () => `AUTH${CRLF}`,
      () => `AUTH ${junkText(int(1, 30)).toUpperCase()} ${junkText(int(0, 30))}${CRLF}`,
    ])();

  const rightLogin = (): string =>
    chance(0.5)
      ? `AUTH PLAIN ${b64(`\0${options.user}\0${options.password}`)}${CRLF}`
      : `AUTH LOGIN${CRLF}${b64(options.user)}${CRLF}${b64(options.password)}${CRLF}`;

  /** Bytes to send; for DATA, `token` names the payload, which starts at `dataAt` within `bytes`. */
  type Action = { kind: string; bytes: Buffer; dataAt?: number; token?: string };
  const line = (kind: string, s: string, encoding: BufferEncoding = 'utf8'): Action => ({ kind, bytes: Buffer.from(s, encoding) });

  /** One random action; DATA payloads are tokened `fz-SESSION-K`. */
  const action = (index: number, k: number, forceKind?: 'data'): Action => {
    const kind = forceKind ?? pick(['ehlo', 'mail', 'mail', 'rcpt', 'rcpt', 'data', 'data', 'auth', 'starttls', 'simple', 'junk', 'junk']);
    switch (kind) {
      case 'ehlo':
        return line(kind, `${pick(['EHLO', 'HELO', 'ehlo', 'LHLO'])} ${hostname()}${CRLF}`, pick(['utf8', 'latin1']));
      case 'mail':
        return line(kind, `MAIL FROM:${address()}${mailParams()}${CRLF}`, pick(['utf8', 'latin1']));
      case 'rcpt':
        return line(kind, `RCPT TO:${address()}${rcptParams()}${CRLF}`, pick(['utf8', 'latin1']));
      case 'data': {
        const token = `fz-${index}-${k}`;
        const head = Buffer.from(`DATA${CRLF}`);
        return { kind, bytes: Buffer.concat([head, payload(token)]), dataAt: head.length, token };
      }
      case 'auth':
        return line(kind, authJunk(), 'latin1');
      case 'starttls':
        return {
          kind,
          bytes: Buffer.concat([Buffer.from(pick(['STARTTLS', 'STARTTLS x', 'starttls'])), Buffer.from(CRLF), junk(int(0, 300))]),
        };
      case 'simple':
        return line(
          kind,
          `${pick(['RSET', 'NOOP', 'VRFY postmaster', 'EXPN staff', 'HELP', 'NOOP x', 'VRFY', 'TURN', 'ETRN x', 'XCLIENT ADDR=10.0.0.1', 'BDAT 10 LAST'])}${CRLF}`,
        );
      default:
        return {
          kind,
          bytes: pick([
            () => Buffer.from(`${junkText(int(1, 12), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')} ${junkText(int(0, 40))}${CRLF}`),
            () => Buffer.from(CRLF),
            () => Buffer.from('\n'),
            () => Buffer.from(`${junkText(int(10_000, 20_000), 'ABCDEF ')}${CRLF}`),
            () => Buffer.concat([junk(int(1, 500)), Buffer.from(CRLF)]),
            () => junk(int(1, 2000)),
          ])(),
        };
    }
  };

  const validHello = (): Action => line('ehlo', `${pick(['EHLO client.test', 'HELO client.test', 'EHLO [127.0.0.1]', 'ehlo x'])}${CRLF}`);

  /** A well-formed transaction, to get messages through (valid envelope, payload still random). */
  const transaction = (index: number, k: number): Action[] => [
    line('mail', `MAIL FROM:<${goodAddress()}>${chance(0.3) ? ' BODY=8BITMIME' : ''}${CRLF}`),
    ...Array.from({ length: int(1, 3) }, () => line('rcpt', `RCPT TO:<${goodAddress()}>${CRLF}`)),
    action(index, k, 'data'),
  ];

  let index = 0;
  return {
    next(): FuzzSession {
      const i = index++;
      const scenario = rng();
      const actions: Action[] = [];
      let localAddress: string;
      let rightPassword = false;
      if (scenario < 0.03) {
        // Logs in right as `fuzz` from outside every network, then sends.
        localAddress = options.loginAddress;
        rightPassword = true;
        actions.push(line('ehlo', `EHLO login.test${CRLF}`), line('auth', rightLogin()), ...transaction(i, 0));
        if (chance(0.3)) actions.push(action(i, 1));
      } else if (scenario < 0.3) {
        // A mostly valid session, with junk around the transaction.
        localAddress = pick(chance(0.85) ? options.insideAddresses : options.outsideAddresses);
        actions.push(validHello());
        if (chance(0.3)) actions.push(action(i, 0));
        if (chance(0.01)) {
          rightPassword = true;
          actions.push(line('auth', rightLogin()));
        }
        actions.push(...transaction(i, 1));
        for (let n = int(0, 3); n > 0; n--) actions.push(action(i, 2 + n));
      } else {
        localAddress = pick(chance(0.6) ? options.insideAddresses : options.outsideAddresses);
        // Most clients get past the greeting, so the fuzz reaches MAIL, RCPT, DATA and AUTH.
        if (chance(0.7)) actions.push(validHello());
        for (let n = int(1, 10); n > 0; n--) actions.push(action(i, n));
      }
      // Clients that log in right are mostly real apps, which say QUIT; the rest end any way.
      const ending: Ending =
        rightPassword && chance(0.7) ? 'quit' : pick(['quit', 'quit', 'end', 'destroy', 'destroy-later', 'destroy-later']);
      if (ending === 'quit') actions.push(line('quit', `QUIT${CRLF}`));

      const stream = Buffer.concat(actions.map((a) => a.bytes));
      const candidates: Candidate[] = [];
      let at = 0;
      for (const a of actions) {
        if (a.token !== undefined && a.dataAt !== undefined) {
          const body = dataBody(stream.subarray(at + a.dataAt));
          if (body) candidates.push({ token: a.token, body });
        }
        at += a.bytes.length;
      }

      // Pipelined: everything in one write, or cut anywhere into a few writes.
      const cuts = chance(0.5) ? [] : Array.from({ length: int(1, 3) }, () => int(1, Math.max(1, stream.length - 1))).sort((x, y) => x - y);
      const chunks: Buffer[] = [];
      let from = 0;
      for (const cut of [...cuts, stream.length]) {
        if (cut > from) chunks.push(stream.subarray(from, cut));
        from = Math.max(from, cut);
      }
      return {
        index: i,
        localAddress,
        early: chance(0.3),
        chunks,
        ending,
        delayMs: chance(0.5) ? 0 : int(1, 5),
        actions: actions.map((a) => a.kind),
        rightPassword,
        candidates,
      };
    },
  };
}
