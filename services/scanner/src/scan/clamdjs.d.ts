/** clamdjs 1.x, the parts the relay uses (its README documents them). */
declare module 'clamdjs' {
  import type { Readable } from 'node:stream';

  interface Scanner {
    scanStream(stream: Readable, timeout: number): Promise<string>;
    scanBuffer(buffer: Buffer, timeout: number, chunkSize?: number): Promise<string>;
  }
  const clamd: {
    createScanner(host: string, port: number): Scanner;
    ping(host: string, port: number, timeout?: number): Promise<boolean>;
    version(host: string, port: number, timeout?: number): Promise<string>;
    isCleanReply(reply: string): boolean;
  };
  export default clamd;
}
