// A stand-in for the Internet when trying the relay by hand: a DNS server that answers every MX
// query with this machine, and an SMTP server there that keeps what it receives.
//
//   node scripts/dev-mx.mjs                       # DNS on 127.0.0.1:5353, SMTP on 127.0.0.1:2525
//   SER_DNS_SERVERS=127.0.0.1:5353 SER_EGRESS_PORT=2525 npm run stack
//
// Received messages are written to .data/dev-mx/<time>.eml and summarised on stdout.
import dnsPacket from 'dns-packet';
import { createSocket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';

const dnsPort = Number(process.env.DEV_MX_DNS_PORT ?? 5353);
const smtpPort = Number(process.env.DEV_MX_SMTP_PORT ?? 2525);
const outDir = join(process.cwd(), '.data', 'dev-mx');
mkdirSync(outDir, { recursive: true });

const dns = createSocket('udp4');
dns.on('message', (wire, peer) => {
  const query = dnsPacket.decode(wire);
  const answers = (query.questions ?? []).flatMap((q) => {
    if (q.type === 'MX') {
      return [{ name: q.name, type: 'MX', ttl: 60, data: { preference: 10, exchange: 'mx.dev-mx.test' } }];
    }
    if (q.type === 'A') {
      return [{ name: q.name, type: 'A', ttl: 60, data: '127.0.0.1' }];
    }
    return [];
  });
  const response = dnsPacket.encode({
    id: query.id,
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
    questions: query.questions,
    answers,
  });
  dns.send(response, peer.port, peer.address);
});
dns.bind(dnsPort, '127.0.0.1');

const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks);
      const file = join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.eml`);
      writeFileSync(file, raw);
      const head = raw.toString('latin1').split('\r\n\r\n')[0] ?? '';
      const signature = /^DKIM-Signature:.*?\bd=([^;\s]+).*?\bs=([^;\s]+)/ms.exec(head);
      console.log(
        JSON.stringify({
          from: session.envelope.mailFrom && session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          dkim: signature ? { d: signature[1], s: signature[2] } : null,
          file,
        }),
      );
      callback();
    });
  },
});
smtp.listen(smtpPort, '127.0.0.1');
console.error(`dev-mx: DNS on 127.0.0.1:${dnsPort} (every MX is 127.0.0.1), SMTP on 127.0.0.1:${smtpPort}`);
const stop = () => {
  dns.close();
  smtp.close(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
