import { mismatchedLinks } from './link-mismatch';

describe('mismatchedLinks', () => {
  it('finds a link whose text shows another host than it goes to', () => {
    expect(
      mismatchedLinks('<p><a href="https://evil.test/login">https://www.mybank.test/login</a></p>'),
    ).toEqual(['link text shows www.mybank.test but goes to evil.test']);
    expect(mismatchedLinks(`<a class=x href='http://198.51.100.7/x'><b>paypal.test</b></a>`)).toEqual([
      'link text shows paypal.test but goes to 198.51.100.7',
    ]);
  });

  it('accepts the same site, subdomains, and links whose text is not an address', () => {
    const html =
      '<a href="https://accounts.acme.test/reset?t=1">https://acme.test/reset</a>' +
      '<a href="https://acme.test/x">Reset your password</a>' +
      '<a href="mailto:help@acme.test">help@acme.test</a>' +
      '<a href="https://shop.acme.test/o/1">shop.acme.test</a>';
    expect(mismatchedLinks(html)).toEqual([]);
  });

  it('decodes entities, and survives entities that name no character', () => {
    expect(mismatchedLinks('<a href="https://evil.test">bank&#46;test</a>')).toEqual([
      'link text shows bank.test but goes to evil.test',
    ]);
    expect(mismatchedLinks('<a href="https://evil.test">&#99999999;</a>')).toEqual([]);
  });
});
