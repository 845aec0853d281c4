// Per-connection namespacing of prepared statements and portals.
//
// PGlite is a single backend session, so two clients that both prepare "_pg3_0" (psycopg names
// its statements per connection from 0) would collide. Non-empty names are prefixed with the
// connection id on the way in; the unnamed statement/portal is safe because a connection holds
// the engine from its first extended-protocol message until Sync.

import { message, quoteIdent } from './protocol.mjs'

function splitCString(buf, pos) {
  const end = buf.indexOf(0, pos)
  if (end < 0) throw new Error('unterminated string in message')
  return [buf.subarray(pos, end).toString('utf8'), end + 1]
}

export class StatementNames {
  constructor(connId) {
    this.prefix = `c${connId}_`
    this.statements = new Set()
  }

  map(name) {
    return name === '' ? '' : this.prefix + name
  }

  /** Rewrite the names inside a Parse/Bind/Describe/Close/Execute message; others pass as-is. */
  rewrite(msg) {
    const { type, body } = msg
    if (type === 'P') {
      const [name, pos] = splitCString(body, 0)
      if (name === '') return msg.raw
      this.statements.add(name)
      return message('P', Buffer.concat([Buffer.from(`${this.map(name)}\0`), body.subarray(pos)]))
    }
    if (type === 'B') {
      const [portal, p1] = splitCString(body, 0)
      const [stmt, p2] = splitCString(body, p1)
      if (portal === '' && stmt === '') return msg.raw
      const head = `${this.map(portal)}\0${this.map(stmt)}\0`
      return message('B', Buffer.concat([Buffer.from(head), body.subarray(p2)]))
    }
    if (type === 'D' || type === 'C') {
      const kind = String.fromCharCode(body[0])
      const [name] = splitCString(body, 1)
      if (name === '') return msg.raw
      if (type === 'C' && kind === 'S') this.statements.delete(name)
      return message(type, Buffer.from(`${kind}${this.map(name)}\0`))
    }
    if (type === 'E') {
      const [portal, pos] = splitCString(body, 0)
      if (portal === '') return msg.raw
      return message('E', Buffer.concat([Buffer.from(`${this.map(portal)}\0`), body.subarray(pos)]))
    }
    return msg.raw
  }

  /**
   * Rewrite a simple-query `DEALLOCATE [PREPARE] name` (psycopg's way before libpq 17).
   * Returns `{ sql }` to run instead, `{ all: true }` for DEALLOCATE ALL, or null if not one.
   */
  rewriteDeallocate(sql) {
    const m = /^\s*DEALLOCATE\s+(?:PREPARE\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*;?\s*$/i.exec(sql)
    if (!m) return null
    if (/^all$/i.test(m[1])) return { all: true }
    const name = m[1].startsWith('"') ? m[1].slice(1, -1).replaceAll('""', '"') : m[1].toLowerCase()
    this.statements.delete(name)
    return { sql: `DEALLOCATE ${quoteIdent(this.map(name))}` }
  }

  /** Close messages for every statement this connection still has (then clears the set). */
  closeAll() {
    const out = [...this.statements].map((name) =>
      message('C', Buffer.from(`S${this.map(name)}\0`)),
    )
    this.statements.clear()
    return out
  }
}
