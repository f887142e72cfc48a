import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/bench/v1/echo_pb.js";

/**
 * The ceiling of every token-path ratio: one echo RPC on Connect-ES with
 * nothing of ours around it (no front, interceptors, logging, config).
 * HTTP/1.1 and h2c share one port, told apart by the connection's first
 * bytes, as the service does. It logs nothing per call; its only output is
 * one line, `listening <port>`, once it accepts connections.
 *
 * PORT (default 0: any free port), HOST (default 127.0.0.1).
 */
const handler = connectNodeAdapter({
  routes: (router) => router.service(EchoService, { echo: (req) => ({ message: req.message }) }),
});

const h1 = http.createServer({ keepAliveTimeout: 5_000 }, handler);
const h2 = http2.createServer({}, handler);
const PREFACE = Buffer.from("PRI * HTTP/2.0");

const tcp = net.createServer({ noDelay: true }, (socket) => {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const n = Math.min(head.length, PREFACE.length);
    const h2Prefix = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (h2Prefix && n < PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(head);
    (h2Prefix ? h2 : h1).emit("connection", socket);
    process.nextTick(() => socket.resume());
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy());
});

tcp.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? "127.0.0.1", () => {
  const addr = tcp.address();
  process.stdout.write(`listening ${typeof addr === "object" && addr ? addr.port : ""}\n`);
});
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
