// PostgreSQL wire protocol (v3) framing: just what the server needs to route messages.
// Reference: https://www.postgresql.org/docs/17/protocol-message-formats.html

export const PROTOCOL_V3 = 196608
export const SSL_REQUEST = 80877103
export const GSSENC_REQUEST = 80877104
export const CANCEL_REQUEST = 80877102

/** Build one typed message: 1-byte type, int32 length (self-inclusive), body. */
export function message(type, body = Buffer.alloc(0)) {
  const out = Buffer.allocUnsafe(5 + body.length)
  out.write(type, 0, 'latin1')
  out.writeInt32BE(4 + body.length, 1)
  body.copy(out, 5)
  return out
}

export function cstring(text) {
  return Buffer.from(`${text}\0`, 'utf8')
}

export const authenticationOk = () => message('R', Buffer.from([0, 0, 0, 0]))
export const parameterStatus = (name, value) =>
  message('S', Buffer.concat([cstring(name), cstring(value)]))
export const readyForQuery = (status) => message('Z', Buffer.from(status, 'latin1'))
export const commandComplete = (tag) => message('C', cstring(tag))
export const query = (sql) => message('Q', cstring(sql))
export const sync = () => message('S')
export const copyFail = (reason) => message('f', cstring(reason))

export function backendKeyData(pid, secret) {
  const body = Buffer.alloc(8)
  body.writeInt32BE(pid, 0)
  body.writeInt32BE(secret, 4)
  return message('K', body)
}

/** ErrorResponse with the fields libpq and psycopg read (severity, SQLSTATE, text). */
export function errorResponse(severity, code, text) {
  return message(
    'E',
    Buffer.concat([
      cstring(`S${severity}`),
      cstring(`V${severity}`),
      cstring(`C${code}`),
      cstring(`M${text}`),
      Buffer.from([0]),
    ]),
  )
}

/**
 * Split complete frontend messages off the front of `buf`.
 * Returns `{ messages: [{ type, body, raw }], rest }`; `rest` holds an incomplete tail.
 */
export function takeMessages(buf) {
  const messages = []
  let pos = 0
  while (buf.length - pos >= 5) {
    const len = buf.readInt32BE(pos + 1)
    if (len < 4) throw new Error(`invalid message length ${len}`)
    if (buf.length - pos < 1 + len) break
    const raw = buf.subarray(pos, pos + 1 + len)
    messages.push({ type: String.fromCharCode(buf[pos]), body: raw.subarray(5), raw })
    pos += 1 + len
  }
  return { messages, rest: buf.subarray(pos) }
}

/**
 * PGlite reads a call's input through Postgres' 8 kB receive buffer and ends the call as soon
 * as that buffer is empty after a message: whatever follows a message that ends exactly on an
 * 8 kB boundary of the input is silently dropped (no error, no answer). A long pipeline (psycopg
 * executemany: thousands of Parse/Bind/Describe/Execute before one Sync) hits such a boundary
 * sooner or later; the lost messages, Sync included, are then never answered and the client
 * waits forever, or a lost Parse shows up as `prepared statement "..." does not exist`.
 */
export const PGLITE_RECV_BUFFER = 8192

/**
 * Cut complete frontend messages into the pieces to hand PGlite one call at a time: each at most
 * `limit` bytes (so PGlite's first read takes it whole) or a single message (which PGlite reads
 * to its end whatever its size). A piece also ends after each Sync and FunctionCall, so one call
 * reports at most one error (PGlite aborts after 9 errors in one call).
 */
export function pgliteCalls(bytes, limit = PGLITE_RECV_BUFFER) {
  const calls = []
  let start = 0
  let pos = 0
  while (pos < bytes.length) {
    const type = bytes[pos]
    const end = pos + 1 + bytes.readInt32BE(pos + 1)
    if (end - start > limit && pos > start) {
      calls.push(bytes.subarray(start, pos))
      start = pos
    }
    pos = end
    if (type === 0x53 /* S */ || type === 0x46 /* F */) {
      calls.push(bytes.subarray(start, pos))
      start = pos
    }
  }
  if (start < bytes.length) calls.push(bytes.subarray(start))
  return calls
}

/** Split an untyped startup-phase packet (int32 length, int32 code, ...) off `buf`, or null. */
export function takeStartupPacket(buf) {
  if (buf.length < 8) return null
  const len = buf.readInt32BE(0)
  if (len < 8 || len > 10000) throw new Error(`invalid startup packet length ${len}`)
  if (buf.length < len) return null
  return { code: buf.readInt32BE(4), body: buf.subarray(8, len), rest: buf.subarray(len) }
}

/** Decode the key/value pairs of a StartupMessage body. */
export function startupParams(body) {
  const parts = body.toString('utf8').split('\0')
  const params = {}
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i] === '') break
    params[parts[i]] = parts[i + 1]
  }
  return params
}

/** Iterate backend messages in `buf` as `{ type, start, end }` (end exclusive). */
export function* backendMessages(buf) {
  let pos = 0
  while (buf.length - pos >= 5) {
    const end = pos + 1 + buf.readInt32BE(pos + 1)
    yield { type: String.fromCharCode(buf[pos]), start: pos, end }
    pos = end
  }
}

/** Transaction status ('I', 'T', 'E') of the last ReadyForQuery in `buf`, or null. */
export function lastReadyStatus(buf) {
  let status = null
  for (const m of backendMessages(buf)) {
    if (m.type === 'Z') status = String.fromCharCode(buf[m.start + 5])
  }
  return status
}

/** Whether the last backend message in `buf` is a ReadyForQuery. */
export function endsWithReady(buf) {
  let last = null
  for (const m of backendMessages(buf)) last = m.type
  return last === 'Z'
}

/** Drop the first message of `type` from a backend buffer (hides PGlite's CopyInResponse). */
export function withoutFirst(buf, type) {
  for (const m of backendMessages(buf)) {
    if (m.type === type) return Buffer.concat([buf.subarray(0, m.start), buf.subarray(m.end)])
  }
  return buf
}

/** First message of `type` in a backend buffer, as raw bytes, or null. */
export function firstOf(buf, type) {
  for (const m of backendMessages(buf)) {
    if (m.type === type) return buf.subarray(m.start, m.end)
  }
  return null
}

export function quoteIdent(name) {
  return `"${name.replaceAll('"', '""')}"`
}
