// Loopback ports for dials that must fail.
import { type IpAddr, listen } from "../../src/index.ts";

/** A loopback port nothing listens on: a listener bound on hostname and closed again. */
export async function closedPort(hostname = "127.0.0.1"): Promise<number> {
  const ln = listen({ port: 0, hostname });
  const port = (ln.addr as IpAddr).port;
  await ln.close();
  return port;
}
