// The one PGlite session, shared by all client connections one at a time.
//
// A connection "owns" the engine from its first message until PGlite answers ReadyForQuery
// with status 'I' (idle). Inside a transaction ('T' or 'E') or between an extended-protocol
// Parse and its Sync there is no such answer, so other connections queue until it is idle again.

import { firstOf, lastReadyStatus, pgliteCalls, query, quoteIdent } from './protocol.mjs'

export class Engine {
  constructor(db, { log = () => {} } = {}) {
    this.db = db
    this.log = log
    this.owner = null
    this.lastOwner = null
    this.waiters = []
    this.status = 'I'
    this.dead = null
    this.tail = Promise.resolve()
  }

  /** Wait until `conn` owns the engine. */
  async acquire(conn) {
    if (this.owner === conn) return
    if (this.owner === null && this.waiters.length === 0) {
      this.owner = conn
      return
    }
    await new Promise((resolve) => this.waiters.push({ conn, resolve }))
  }

  /** Give the engine to the next waiting connection. Only the owner may release. */
  release(conn) {
    if (this.owner !== conn) return
    this.owner = null
    const next = this.waiters.shift()
    if (next) {
      this.owner = next.conn
      next.resolve()
    }
  }

  /** Forget a connection that went away while queued. */
  dropWaiter(conn) {
    this.waiters = this.waiters.filter((w) => w.conn !== conn)
  }

  /** Run raw frontend bytes through PGlite and return a private copy of the backend bytes. */
  exec(bytes) {
    // Chained so that a disconnect cleanup never interleaves with a running call.
    const run = this.tail.then(() => this.#execNow(bytes))
    this.tail = run.catch(() => {})
    return run
  }

  /**
   * Run complete extended-protocol messages of any number and size, in as many PGlite calls as
   * it takes to lose none (see `pgliteCalls`). Each call's answer goes to `onOutput` as soon as
   * it is there; returns all answers concatenated. Not for COPY: PGlite needs the COPY query,
   * its data and CopyDone in a single call.
   */
  async execMessages(bytes, onOutput = () => {}) {
    const outs = []
    for (const piece of pgliteCalls(bytes)) {
      const out = await this.exec(piece)
      onOutput(out)
      outs.push(out)
    }
    return outs.length === 1 ? outs[0] : Buffer.concat(outs)
  }

  async #execNow(bytes) {
    if (this.dead) throw this.dead
    try {
      // Not execProtocolRaw: PGlite parses every backend message into an object and keeps it
      // in a list that only execProtocol empties (600k rows read raw held ~120 MB of heap).
      // throwOnError: false, errors go to the client as bytes. PGlite reuses its receive
      // buffer between calls, so copy before the next one.
      const { data } = await this.db.execProtocol(bytes, { throwOnError: false })
      const out = Buffer.from(data)
      const status = lastReadyStatus(out)
      if (status) this.status = status
      return out
    } catch (err) {
      // A WASM trap leaves the Postgres instance unusable: fail loudly, never limp on.
      this.dead = err
      throw err
    }
  }

  /**
   * Make PGlite's session user match the connection's login user when the owner changes.
   * Returns null on success or the backend bytes of the error.
   */
  async switchUser(conn) {
    if (this.lastOwner === conn) return null
    this.lastOwner = conn
    // SET SESSION AUTHORIZATION also drops any SET ROLE a previous connection left behind.
    const out = await this.exec(query(`SET SESSION AUTHORIZATION ${quoteIdent(conn.user)}`))
    if (firstOf(out, 'E') === null) return null
    this.lastOwner = null
    return out
  }
}
