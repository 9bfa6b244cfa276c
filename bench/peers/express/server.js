// The peer users would pick instead of paybridge (bench/run webhook): Express with
// express.raw, the official stripe package's webhooks.constructEvent and a mysql2 pool,
// one process per core under Node's cluster module. It verifies the signature and records
// the event id once (a plain INSERT; a duplicate answers 200), as the Stripe docs' sample
// receiver does with a database added.
//
// Environment: PEER_SOCKET (the unix socket nginx proxies to), PEER_WEBHOOK_SECRET,
// PEER_DB_SOCKET, PEER_DB_USER, PEER_DB_PASSWORD, PEER_DB_NAME, PEER_TABLE, PEER_PROCESSES
// (default: one per core).
'use strict';
const cluster = require('node:cluster');
const fs = require('node:fs');
const os = require('node:os');

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};

if (cluster.isPrimary) {
  const n = Number(process.env.PEER_PROCESSES || os.availableParallelism());
  const sock = env('PEER_SOCKET');
  fs.rmSync(sock, { force: true });
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on('exit', (w, code, sig) => {
    console.error(`express peer: worker ${w.process.pid} exited (${sig || code})`);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const express = require('express');
  const mysql = require('mysql2/promise');
  const stripe = require('stripe')('sk_test_bench_peer_not_used_for_api_calls');

  const secret = env('PEER_WEBHOOK_SECRET');
  const table = env('PEER_TABLE');
  if (!/^[a-z_]+$/.test(table)) throw new Error('PEER_TABLE: letters and _ only');
  const pool = mysql.createPool({
    socketPath: env('PEER_DB_SOCKET'),
    user: env('PEER_DB_USER'),
    password: process.env.PEER_DB_PASSWORD || '',
    database: env('PEER_DB_NAME'),
    connectionLimit: 8,
  });
  const insert = `INSERT INTO ${table} (event_id, type) VALUES (?, ?)`;

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.post('/v1/webhooks/stripe', express.raw({ type: 'application/json', limit: '1mb' }),
    async (req, res) => {
      let event;
      try {
        event = stripe.webhooks.constructEvent(req.body, req.get('stripe-signature'), secret);
      } catch (err) {
        res.status(400).json({ error: { code: 'invalid_signature', message: err.message } });
        return;
      }
      try {
        await pool.execute(insert, [event.id, event.type]);
      } catch (err) {
        if (err.code !== 'ER_DUP_ENTRY') {
          res.status(500).json({ error: { code: 'internal', message: 'database error' } });
          return;
        }
      }
      res.json({ received: true });
    });
  app.get('/v1/healthz', (req, res) => res.json({ status: 'ok' }));
  const server = app.listen(env('PEER_SOCKET'), () => {
    try { fs.chmodSync(env('PEER_SOCKET'), 0o666); } catch (e) { /* another worker's */ }
  });
  server.keepAliveTimeout = 65000;
  process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
}
