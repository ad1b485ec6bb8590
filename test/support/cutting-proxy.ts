/**
 * A TCP proxy for the client's tests that counts the bytes it forwards to the registry and cuts
 * chosen connections: `cutUpload` cuts the connection carrying a request body once that many bytes
 * of it went through; `cutDownload` cuts a response once that many bytes came back. Each cut happens once.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A running proxy. */
export interface CuttingProxy {
  /** `127.0.0.1:<port>` */
  host: string;
  /** bytes forwarded to the registry so far */
  sentToRegistry(): number;
  /** cuts the next connection after it forwarded `bytes` more bytes to the registry */
  cutUpload(bytes: number): void;
  /** cuts the next connection after `bytes` more bytes came back from the registry */
  cutDownload(bytes: number): void;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`host:port`). */
export async function startCuttingProxy(target: string): Promise<CuttingProxy> {
  const [targetHost, targetPort] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let sent = 0;
  let uploadCut: number | undefined;
  let downloadCut: number | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (uploadCut !== undefined) {
        uploadCut -= chunk.length;
        if (uploadCut <= 0) {
          uploadCut = undefined;
          return cut();
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (downloadCut !== undefined && chunk.length > 1000) {
        downloadCut -= chunk.length;
        if (downloadCut <= 0) {
          downloadCut = undefined;
          return cut();
        }
      }
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    sentToRegistry: () => sent,
    cutUpload: (bytes) => void (uploadCut = bytes),
    cutDownload: (bytes) => void (downloadCut = bytes),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
