// One client socket: startup handshake, message routing, COPY FROM STDIN buffering, cleanup.

import { StatementNames } from './names.mjs'
import {
  CANCEL_REQUEST,
  GSSENC_REQUEST,
  PROTOCOL_V3,
  SSL_REQUEST,
  authenticationOk,
  backendKeyData,
  commandComplete,
  copyFail,
  endsWithReady,
  errorResponse,
  firstOf,
  lastReadyStatus,
  message,
  parameterStatus,
  query,
  readyForQuery,
  startupParams,
  sync,
  takeMessages,
  takeStartupPacket,
  withoutFirst,
} from './protocol.mjs'

const LEADING_COMMENTS = /^(?:\s*(?:--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/))*/
const COPY_FROM_STDIN = /^\s*COPY\b[\s\S]*?\bFROM\s+STDIN\b/i
// Probing a COPY inside a transaction must not abort it, so it runs under this savepoint.
const PROBE_SAVEPOINT = 'pglite_server_copy_probe'

// PGlite traps on a COPY FROM STDIN it cannot finish in one call, and over the extended
// protocol the data would arrive after Sync. Such a Parse is swapped for one that fails with
// this text (as an unknown column), so the client gets an error and the server lives on.
const EXTENDED_COPY_REFUSAL = 'COPY FROM STDIN needs the simple query protocol here'

// PGlite's one session belongs to the superuser, which may SET SESSION AUTHORIZATION to anyone:
// a client logged in as another role could switch itself to postgres that way (or with
// RESET/DISCARD ALL, which return to the session's original user). Such statements from a login
// other than the superuser are swapped for one that fails with this text.
const ROLE_SWITCH = /session[\s\S]{0,200}?authorization|session_authorization|\bdiscard\b/i
const ROLE_SWITCH_REFUSAL = 'role switches are refused: log in as that role instead'
const SUPERUSER = 'postgres'

class ConnectionClosed extends Error {}

/** The statement text of a Query ('Q') or Parse ('P') message. */
function statementText(msg) {
  if (msg.type === 'Q') return msg.body.subarray(0, -1).toString('utf8')
  const nameEnd = msg.body.indexOf(0)
  return msg.body.subarray(nameEnd + 1, msg.body.indexOf(0, nameEnd + 1)).toString('utf8')
}

/** For a login other than the superuser, a role switch becomes a statement that fails. */
export function refuseRoleSwitch(msg, user) {
  if (user === SUPERUSER || !ROLE_SWITCH.test(statementText(msg))) return msg
  const refusal = `SELECT "${ROLE_SWITCH_REFUSAL}"`
  if (msg.type === 'Q') {
    const body = Buffer.from(`${refusal}\0`)
    return { type: 'Q', body, raw: message('Q', body) }
  }
  const nameEnd = msg.body.indexOf(0)
  const body = Buffer.concat([msg.body.subarray(0, nameEnd + 1), Buffer.from(`${refusal}\0`),
    Buffer.from([0, 0])])
  return { type: 'P', body, raw: message('P', body) }
}

function refuseExtendedCopyIn(msg) {
  const nameEnd = msg.body.indexOf(0)
  const queryEnd = msg.body.indexOf(0, nameEnd + 1)
  const sql = msg.body.subarray(nameEnd + 1, queryEnd).toString('utf8')
  if (!COPY_FROM_STDIN.test(sql.replace(LEADING_COMMENTS, ''))) return msg
  const body = Buffer.concat([
    msg.body.subarray(0, nameEnd + 1),
    Buffer.from(`SELECT "${EXTENDED_COPY_REFUSAL}"\0`),
    Buffer.from([0, 0]), // no parameter types
  ])
  return { type: 'P', body, raw: message('P', body) }
}

export class ClientConnection {
  constructor(socket, { id, engine, parameters, log }) {
    this.socket = socket
    this.id = id
    this.engine = engine
    this.parameters = parameters
    this.log = log
    this.names = new StatementNames(id)
    this.user = 'postgres'
    this.phase = 'startup'
    this.buf = Buffer.alloc(0)
    this.pending = []
    this.pumping = false
    this.copy = null
    this.midBatch = false
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))

    socket.setNoDelay(true)
    socket.on('data', (chunk) => {
      this.pending.push(chunk)
      this.pump()
    })
    socket.on('error', (err) => this.log(`conn ${id}: socket error: ${err.message}`))
    socket.on('close', () => this.close())
  }

  async pump() {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.phase !== 'closed') {
        if (this.pending.length) {
          this.buf = Buffer.concat([this.buf, ...this.pending])
          this.pending = []
        }
        if (this.phase === 'startup') {
          if (!this.handleStartup()) break
          continue
        }
        const { messages, rest } = takeMessages(this.buf)
        this.buf = rest
        if (messages.length === 0) break
        await this.handle(messages)
      }
    } catch (err) {
      if (!(err instanceof ConnectionClosed)) {
        this.log(`conn ${this.id}: ${err.stack ?? err}`)
        this.write(errorResponse('FATAL', 'XX000', `pglite server: ${err.message ?? err}`))
        await this.close()
      }
    } finally {
      this.pumping = false
    }
  }

  /** Answer SSL/GSS requests with 'N', accept any user and password (trust). */
  handleStartup() {
    const packet = takeStartupPacket(this.buf)
    if (!packet) return false
    this.buf = packet.rest
    if (packet.code === SSL_REQUEST || packet.code === GSSENC_REQUEST) {
      this.write(Buffer.from('N'))
      return true
    }
    if (packet.code === CANCEL_REQUEST) {
      // Cancelling would need a second backend; PGlite runs one query at a time anyway.
      this.close()
      return false
    }
    if (packet.code !== PROTOCOL_V3) {
      this.write(errorResponse('FATAL', '0A000', `unsupported protocol ${packet.code}`))
      this.close()
      return false
    }
    const params = startupParams(packet.body)
    this.user = params.user || 'postgres'
    const statuses = { ...this.parameters, session_authorization: this.user }
    if (params.application_name) statuses.application_name = params.application_name
    this.write(
      Buffer.concat([
        authenticationOk(),
        ...Object.entries(statuses).map(([k, v]) => parameterStatus(k, v)),
        backendKeyData(this.id, (Math.random() * 0x7fffffff) | 0),
        readyForQuery('I'),
      ]),
    )
    this.phase = 'ready'
    return true
  }

  async handle(messages) {
    let batch = []
    const flush = async () => {
      if (batch.length === 0) return
      const bytes = Buffer.concat(batch)
      batch = []
      await this.run(bytes)
    }
    for (const msg of messages) {
      if (this.phase === 'closed') return
      if (this.copy) {
        if (msg.type === 'd') {
          this.copy.chunks.push(msg.raw)
          continue
        }
        if (msg.type === 'c') {
          await this.finishCopy()
          continue
        }
        if (msg.type === 'f') {
          await this.failCopy(msg.body.subarray(0, -1).toString('utf8'))
          continue
        }
        if (msg.type === 'H' || msg.type === 'S') continue // ignored in copy-in mode, as in Postgres
        await this.failCopy(`unexpected message type '${msg.type}' during COPY`)
      }
      switch (msg.type) {
        case 'Q': {
          await flush()
          await this.simpleQuery(refuseRoleSwitch(msg, this.user))
          break
        }
        case 'P':
          batch.push(this.names.rewrite(refuseExtendedCopyIn(refuseRoleSwitch(msg, this.user))))
          break
        case 'B':
        case 'D':
        case 'C':
        case 'E':
          batch.push(this.names.rewrite(msg))
          break
        case 'S':
        case 'H':
        case 'F':
          batch.push(msg.raw)
          break
        case 'X':
          await flush()
          await this.close()
          return
        case 'd':
        case 'c':
        case 'f':
        case 'p':
          break // stray copy messages and passwords are ignored
        default:
          await flush()
          this.write(errorResponse('FATAL', '08P01', `unsupported message type '${msg.type}'`))
          await this.close()
          return
      }
    }
    await flush()
  }

  async simpleQuery(msg) {
    const sql = msg.body.subarray(0, -1).toString('utf8')
    if (COPY_FROM_STDIN.test(sql.replace(LEADING_COMMENTS, ''))) {
      await this.startCopy(msg.raw)
      return
    }
    const dealloc = this.names.rewriteDeallocate(sql)
    if (dealloc?.all) {
      await this.deallocateAll()
      return
    }
    await this.run(dealloc ? query(dealloc.sql) : msg.raw)
  }

  /** Own the engine and make its session user ours; a bad role ends the connection. */
  async acquire() {
    await this.engine.acquire(this)
    if (this.phase === 'closed') throw new ConnectionClosed()
    const err = await this.engine.switchUser(this)
    if (err) {
      this.write(firstOf(err, 'E'))
      this.engine.release(this)
      await this.close()
      throw new ConnectionClosed()
    }
  }

  async run(bytes) {
    await this.acquire()
    // Answers are written as each PGlite call returns: a pipelining client reads them while it
    // is still sending.
    await this.engine.execMessages(bytes, (out) => {
      this.write(out)
      this.track(out)
    })
    this.settle()
  }

  /** Note whether PGlite is between an extended-protocol message and its Sync. */
  track(out) {
    // An empty answer (a lone Flush) leaves the batch state as it was.
    if (out.length) this.midBatch = !endsWithReady(out)
  }

  /** Release the engine once PGlite is idle and not between Parse and Sync. */
  settle(out = Buffer.alloc(0)) {
    this.track(out)
    if (!this.midBatch && this.engine.status === 'I') this.engine.release(this)
  }

  /**
   * Answer a COPY ... FROM STDIN with PGlite's own CopyInResponse, found by a dry run that
   * fails on purpose, then buffer CopyData until CopyDone: PGlite needs query, data and
   * CopyDone in one call (a lone COPY query traps the WASM).
   */
  async startCopy(queryRaw) {
    await this.acquire()
    const dryRun = Buffer.concat([queryRaw, copyFail('pglite server probe')])
    let probe
    if (this.engine.status === 'T') {
      await this.engine.exec(query(`SAVEPOINT ${PROBE_SAVEPOINT}`))
      probe = await this.engine.exec(dryRun)
      await this.engine.exec(
        query(`ROLLBACK TO SAVEPOINT ${PROBE_SAVEPOINT}; RELEASE SAVEPOINT ${PROBE_SAVEPOINT}`),
      )
      if (!firstOf(probe, 'G')) probe = await this.engine.exec(dryRun) // the real error
    } else {
      probe = await this.engine.exec(dryRun) // idle or failed transaction: no side effects
    }
    const copyIn = firstOf(probe, 'G')
    if (!copyIn) {
      // Not a COPY FROM STDIN after all (or an error): the dry run was the real run.
      this.write(probe)
      this.settle(probe)
      return
    }
    this.write(copyIn)
    this.copy = { queryRaw, chunks: [] }
  }

  async finishCopy() {
    const { queryRaw, chunks } = this.copy
    this.copy = null
    const out = await this.engine.exec(Buffer.concat([queryRaw, ...chunks, message('c')]))
    const visible = withoutFirst(out, 'G')
    this.write(visible)
    this.settle(visible)
  }

  async failCopy(reason) {
    const { queryRaw } = this.copy
    this.copy = null
    const out = await this.engine.exec(Buffer.concat([queryRaw, copyFail(reason)]))
    const visible = withoutFirst(out, 'G')
    this.write(visible)
    this.settle(visible)
  }

  /** DEALLOCATE ALL drops only this connection's statements (others share the session). */
  async deallocateAll() {
    await this.acquire()
    const out = await this.engine.execMessages(Buffer.concat([...this.names.closeAll(), sync()]))
    const reply = Buffer.concat([
      commandComplete('DEALLOCATE ALL'),
      readyForQuery(lastReadyStatus(out) ?? 'I'),
    ])
    this.write(reply)
    this.settle(reply)
  }

  write(buf) {
    if (buf && buf.length && !this.socket.destroyed) this.socket.write(buf)
  }

  /** Close the socket and undo what the client left behind: open batch, transaction, statements. */
  async close() {
    if (this.phase === 'closed') return this.closed
    const wasReady = this.phase === 'ready'
    this.phase = 'closed'
    this.copy = null
    this.socket.destroy()
    this.engine.dropWaiter(this)
    const closes = this.names.closeAll()
    if (!wasReady || (this.engine.owner !== this && closes.length === 0)) {
      this.resolveClosed()
      return this.closed
    }
    try {
      await this.engine.acquire(this)
      const parts = this.midBatch ? [sync()] : []
      if (closes.length) parts.push(...closes, sync())
      if (parts.length) await this.engine.execMessages(Buffer.concat(parts))
      if (this.engine.status !== 'I') {
        this.log(`conn ${this.id}: disconnected inside a transaction, rolling back`)
        await this.engine.exec(query('ROLLBACK'))
      }
    } catch (err) {
      this.log(`conn ${this.id}: cleanup failed: ${err.message ?? err}`)
    } finally {
      this.engine.release(this)
      this.resolveClosed()
    }
    return this.closed
  }
}
