/**
 * The overload generator's connections: keep-alive HTTP/1.1, one request in flight on each,
 * an idle connection reused when there is one and a new one opened when there is not, and a
 * request that reaches its caller's deadline resets its connection (RST).
 *
 * Why not the client's lean pool (src/http1/http1-pool.ts), which the first version used:
 * its abort destroys the socket with a FIN, which leaves the generator's side of the
 * connection in TIME_WAIT for 60 s. At the top of the overload range callers give up
 * thousands of times a second; the first full run filled most of the ephemeral port range
 * with TIME_WAIT sockets, connect() slowed down searching for a free port, and the generator
 * fell so far behind its schedule that every contender's goodput there read 0, while other
 * programs on the machine got EADDRINUSE (bench/README.md, "Measurements behind design
 * choices"). A reset leaves no TIME_WAIT, and the server sees the caller leave just the same
 * (its socket closes with ECONNRESET instead of EOF). The pool's abort also scans every open
 * connection, which with thousands of them open costs as much again.
 *
 * Responses are framed by the client's parser (src/http1/http1-response-parser.ts).
 */
import { connect, type Socket } from 'node:net';
import { Http1ResponseParser } from '../src/http1/http1-response-parser';

/** What became of one request: its status, or 'failed' (the connection closed or spoke nonsense first). */
export type Outcome = number | 'failed';

export interface PendingRequest {
  /** The caller gives up: resets the connection; the outcome callback is not called. */
  abort(): void;
}

interface Connection {
  socket: Socket;
  parser: Http1ResponseParser | undefined;
  done: ((outcome: Outcome) => void) | undefined;
}

export class DeadlineConnections {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();

  /** @param request the complete request, head and body, sent as is on every call */
  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly request: Buffer,
  ) {}

  /** Connections open now (the report shows the peak). */
  get size(): number {
    return this.open.size;
  }

  send(done: (outcome: Outcome) => void): PendingRequest {
    const connection = this.takeIdle() ?? this.connect();
    connection.parser = new Http1ResponseParser();
    connection.done = done;
    connection.socket.write(this.request);
    return {
      abort: () => {
        if (connection.done !== done) return; // answered already
        connection.done = undefined;
        this.reset(connection);
      },
    };
  }

  /** Resets every connection: nothing is left in TIME_WAIT on this side. */
  closeAll(): void {
    for (const connection of this.open) this.reset(connection);
  }

  private takeIdle(): Connection | undefined {
    // Connections the server closed while idle are left in the list and skipped here.
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (!c.socket.destroyed && !c.socket.readableEnded) return c;
    }
    return undefined;
  }

  private connect(): Connection {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    const connection: Connection = { socket, parser: undefined, done: undefined };
    this.open.add(connection);
    socket.on('data', (chunk: Buffer) => this.onData(connection, chunk));
    socket.on('error', () => {}); // 'close' follows and settles the request
    socket.on('close', () => {
      this.open.delete(connection);
      this.finish(connection, 'failed');
    });
    return connection;
  }

  private onData(connection: Connection, chunk: Buffer): void {
    if (connection.parser === undefined) {
      this.reset(connection); // bytes nobody asked for: the connection cannot be trusted
      return;
    }
    let response;
    try {
      response = connection.parser.feed(chunk);
    } catch {
      this.finish(connection, 'failed');
      this.reset(connection);
      return;
    }
    if (response === undefined) return;
    connection.parser = undefined;
    this.finish(connection, response.status);
    if (response.keepAlive) this.idle.push(connection);
    else this.reset(connection);
  }

  private finish(connection: Connection, outcome: Outcome): void {
    const done = connection.done;
    connection.done = undefined;
    done?.(outcome);
  }

  private reset(connection: Connection): void {
    connection.parser = undefined;
    const { socket } = connection;
    if (socket.destroyed) return;
    // A socket still connecting has nothing to reset (resetAndDestroy would wait for the
    // connection to finish): closing it drops the half-open connection without TIME_WAIT.
    if (socket.connecting) socket.destroy();
    else socket.resetAndDestroy();
  }
}
