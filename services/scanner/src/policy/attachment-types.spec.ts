import { attachmentTypes, blockedType, fileExtension, magicType } from './attachment-types';

const none = Buffer.alloc(0);

describe('attachment types', () => {
  it('reads the extension the way Windows does', () => {
    expect(fileExtension('Invoice.PDF.exe')).toBe('exe');
    expect(fileExtension('invoice.exe. . ')).toBe('exe');
    expect(fileExtension('report')).toBeUndefined();
    // U+202E RIGHT-TO-LEFT OVERRIDE makes "invoice_\u202Efdp.exe" display as "invoice_exe.pdf".
    expect(fileExtension('invoice_\u202efdp.exe')).toBe('exe');
  });

  it('knows executables by their magic number', () => {
    expect(magicType(Buffer.from('MZ\x90\x00', 'latin1'))).toBe('exe');
    expect(magicType(Buffer.from('\x7fELF', 'latin1'))).toBe('elf');
    expect(magicType(Buffer.from([0xcf, 0xfa, 0xed, 0xfe]))).toBe('macho');
    expect(magicType(Buffer.from('#!/bin/sh\n'))).toBe('sh');
    expect(magicType(Buffer.from('%PDF-1.7'))).toBeUndefined();
  });

  it('collects every type an attachment can be taken for', () => {
    expect(
      attachmentTypes({
        filename: 'report.pdf',
        contentType: 'application/x-msdownload',
        head: Buffer.from('MZ'),
      }),
    ).toEqual(['pdf', 'exe']);
  });

  it('blocks a renamed executable by its content and a script by its declared type', () => {
    const blocked = new Set(['exe', 'js']);
    expect(
      blockedType({ filename: 'photo.jpg', contentType: 'image/jpeg', head: Buffer.from('MZ') }, blocked),
    ).toBe('exe');
    expect(blockedType({ contentType: 'text/javascript', head: none }, blocked)).toBe('js');
    expect(
      blockedType({ filename: 'statement.pdf', contentType: 'application/pdf', head: none }, blocked),
    ).toBe(undefined);
  });
});
