/**
 * The classic phishing link: the text of an anchor shows one host (`https://bank.example`) and the
 * href goes to another. Only anchors whose text itself reads as a URL or host name count; "click
 * here" links cannot mislead about where they go.
 */
export function mismatchedLinks(html: string): string[] {
  const findings: string[] = [];
  for (const match of html.matchAll(
    /<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi,
  )) {
    const href = decodeEntities(match[1] ?? match[2] ?? match[3] ?? '').trim();
    const text = decodeEntities(match[4]?.replace(/<[^>]*>/g, ' ') ?? '').trim();
    const target = hostOf(href);
    const shown = shownHost(text);
    if (target !== undefined && shown !== undefined && !sameSite(target, shown)) {
      findings.push(`link text shows ${shown} but goes to ${target}`);
    }
  }
  return findings;
}

function hostOf(url: string): string | undefined {
  if (!/^https?:\/\//i.test(url)) {
    return undefined;
  }
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/** The host a link text presents: a whole URL, or a bare host name such as `www.bank.example`. */
function shownHost(text: string): string | undefined {
  const url = /^(?:https?:\/\/)?((?:[a-z0-9\u00a1-\uffff-]+\.)+[a-z\u00a1-\uffff]{2,})(?:[:/?#]\S*)?$/i.exec(
    text,
  );
  if (url?.[1] === undefined) {
    return undefined;
  }
  return hostOf(`https://${url[1]}`);
}

/** The same host, or one a subdomain of the other (`www.acme.test` and `acme.test`). */
function sameSite(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]{1,6});/gi, (_, hex: string) => codePoint(parseInt(hex, 16)))
    .replace(/&#(\d{1,7});/g, (_, dec: string) => codePoint(Number(dec)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&apos;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ');
}

function codePoint(value: number): string {
  return value <= 0x10ffff ? String.fromCodePoint(value) : '';
}
