// The floor for the supervisor's CPU per request: a bare node:http server answering the hello
// route's bytes, no worker behind it. `npm run bench` measures it beside Balloon in the same run.
import { createServer } from "node:http";

const body = Buffer.from("Hello, world!\n");
const server = createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length });
  res.end(body);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
