/**
 * The front end benchmark's peer: a bare node:http cluster, `workers` processes sharing the
 * port, each answering POST /score with the JSON body it got, parsed and serialized again
 * (the least a JSON scoring server does). Run as `node dist/bench/echo-server.js PORT WORKERS`;
 * prints "echo server listening" once every worker listens.
 */
import cluster from 'node:cluster';
import { runPeerPrimary } from './cluster-peer';
import http from 'node:http';

const [port, workers] = process.argv.slice(2).map(Number) as [number, number];

if (cluster.isPrimary) {
  runPeerPrimary(workers, `echo server listening on 127.0.0.1:${port} with ${workers} workers`);
} else {
  http
    .createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body: string;
        try {
          body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
    })
    .listen(port, '127.0.0.1');
}
