import { Prng } from '../support/prng';
import { SEQUENCE_HEADER } from './loopback-internet';

export interface MailFactoryOptions {
  /** Every message about this size, or `mix`: 2–50 KiB, log-uniform (median 10 KiB). */
  size: number | 'mix';
  /** The tenant's domain: From and envelope sender. */
  fromDomain: string;
  recipientDomains: readonly string[];
  seed: number;
}

/** One message ready for nodemailer (`envelope` + `raw`). */
export interface OutgoingMail {
  sequence: string;
  envelope: { from: string; to: string[] };
  raw: string;
  bytes: number;
  withAttachment: boolean;
}

interface Template {
  /** Header fields after ours and the body, CRLF line ends. */
  rest: string;
  withAttachment: boolean;
}

const TEMPLATES = 64;
const MIN_MIX = 2 * 1024;
const MAX_MIX = 50 * 1024;
/** Share of messages with a PDF-like attachment (invoices, statements). */
const ATTACHMENT_SHARE = 0.25;
const PRODUCTS = ['Desk lamp', 'USB-C cable', 'Notebook A5', 'Coffee beans 1 kg', 'Backpack', 'Headphones'];
const KINDS = ['Your order confirmation', 'Your receipt', 'Your invoice', 'Your parcel has shipped'];

/**
 * Realistic transactional mail (order confirmations, receipts, invoices with a PDF, shipping
 * notices; text and HTML alternatives) from 64 pre-built templates: each message gets its own
 * sequence header, Message-ID, Date and recipient, so building one costs the client next to
 * nothing. Seeded: every run sends the same mix.
 */
export class MailFactory {
  private readonly templates: Template[] = [];
  private readonly prng: Prng;
  private count = 0;

  constructor(private readonly options: MailFactoryOptions) {
    this.prng = new Prng(options.seed);
    for (let i = 0; i < TEMPLATES; i += 1) {
      this.templates.push(this.template(i));
    }
  }

  next(sequence: string): OutgoingMail {
    const n = this.count;
    this.count += 1;
    const template = this.templates[n % TEMPLATES] as Template;
    const domains = this.options.recipientDomains;
    const to = `customer${String(this.prng.int(5000))}@${domains[n % domains.length] ?? ''}`;
    const from = `billing@${this.options.fromDomain}`;
    const raw =
      `${SEQUENCE_HEADER}: ${sequence}\r\n` +
      `Message-ID: <${sequence}@${this.options.fromDomain}>\r\n` +
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
      `From: Example Shop <${from}>\r\nTo: ${to}\r\n${template.rest}`;
    return {
      sequence,
      envelope: { from, to: [to] },
      raw,
      bytes: Buffer.byteLength(raw),
      withAttachment: template.withAttachment,
    };
  }

  private template(i: number): Template {
    const target = this.targetSize();
    const withAttachment = this.prng.next() < ATTACHMENT_SHARE;
    const kind = withAttachment ? 'Your invoice' : (KINDS[i % KINDS.length] as string);
    const order = `SO-${String(100000 + this.prng.int(900000))}`;
    const boundary = `alt-${String(i)}-${String(this.prng.int(1e9))}`;
    const mixed = `mix-${String(i)}-${String(this.prng.int(1e9))}`;
    // The attachment takes about 60 % of an invoice (base64: 4/3 plus line ends); order lines (about
    // 122 bytes each in text and HTML) fill the rest, after about 900 bytes of header and fixed text.
    const pdfBytes = withAttachment ? Math.max(512, Math.floor((target * 0.6) / 1.37)) : 0;
    const attachmentBytes = withAttachment ? Math.ceil(pdfBytes * 1.37) + 200 : 0;
    const lines = this.orderLines(Math.max(1, Math.floor((target - 900 - attachmentBytes) / 122)));
    const text = `Hello,\r\n\r\nThank you for shopping with us. ${kind.toLowerCase()} for order ${order}:\r\n\r\n${lines
      .map((l) => `  ${l.qty} x ${l.name} ........ EUR ${l.price}`)
      .join('\r\n')}\r\n\r\nQuestions? Reply to this message or visit https://shop.example/help\r\n`;
    const html =
      `<html><body><p>Hello,</p><p>Thank you for shopping with us. ${kind} for order <b>${order}</b>:</p>\r\n<table>\r\n` +
      lines.map((l) => `<tr><td>${l.qty}</td><td>${l.name}</td><td>EUR ${l.price}</td></tr>`).join('\r\n') +
      `\r\n</table><p><a href="https://shop.example/orders/${order}">View your order</a></p></body></html>\r\n`;
    const alternative =
      `Content-Type: multipart/alternative; boundary="${boundary}"\r\n\r\n` +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}` +
      `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}` +
      `--${boundary}--\r\n`;
    const head = `Subject: ${kind} ${order}\r\nMIME-Version: 1.0\r\n`;
    if (!withAttachment) {
      return { rest: head + alternative, withAttachment };
    }
    const pdf = this.pdfLike(pdfBytes)
      .toString('base64')
      .replace(/.{1,76}/g, '$&\r\n');
    return {
      rest:
        `${head}Content-Type: multipart/mixed; boundary="${mixed}"\r\n\r\n--${mixed}\r\n${alternative}` +
        `--${mixed}\r\nContent-Type: application/pdf; name="invoice-${order}.pdf"\r\n` +
        `Content-Disposition: attachment; filename="invoice-${order}.pdf"\r\n` +
        `Content-Transfer-Encoding: base64\r\n\r\n${pdf}--${mixed}--\r\n`,
      withAttachment,
    };
  }

  private targetSize(): number {
    const { size } = this.options;
    if (size !== 'mix') {
      return size;
    }
    return Math.round(MIN_MIX * Math.exp(this.prng.next() * Math.log(MAX_MIX / MIN_MIX)));
  }

  private orderLines(count: number): { qty: number; name: string; price: string }[] {
    return Array.from({ length: count }, () => ({
      qty: 1 + this.prng.int(3),
      name: `${this.prng.pick(PRODUCTS, [1, 1, 1, 1, 1, 1])}, item ${String(this.prng.int(99999))}`,
      price: (5 + this.prng.next() * 200).toFixed(2),
    }));
  }

  /** A PDF header, a deflated-looking (random) content stream, and the trailer. */
  private pdfLike(bytes: number): Buffer {
    const headBytes = Buffer.from(
      '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 0 /Filter /FlateDecode >>\nstream\n',
      'latin1',
    );
    const tail = Buffer.from('\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');
    const body = Buffer.alloc(Math.max(0, bytes - headBytes.length - tail.length));
    for (let i = 0; i < body.length; i += 4) {
      body.writeUInt32LE(Math.floor(this.prng.next() * 0x1_0000_0000), Math.min(i, body.length - 4));
    }
    return Buffer.concat([headBytes, body, tail]);
  }
}
