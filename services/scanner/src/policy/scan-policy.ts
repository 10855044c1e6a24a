import type { ScanAction, ScanPolicy } from '@ser/data';

/** A scan policy with every field decided: relay defaults, then the tenant's, then the application's. */
export interface EffectiveScanPolicy {
  spamQuarantineScore: number;
  spamRejectScore: number;
  phishingAction: ScanAction;
  blockedAttachmentTypes: ReadonlySet<string>;
  blockedAttachmentAction: ScanAction;
  spamdUnavailable: 'continue' | 'hold';
}

/**
 * Executables and scripts that Windows, macOS or a shell runs on a double click, and containers
 * that mount or install them; transactional mail has no reason to carry any of them.
 */
export const DEFAULT_BLOCKED_ATTACHMENT_TYPES: readonly string[] = [
  'ade', 'adp', 'app', 'appx', 'application', 'bas', 'bat', 'cab', 'chm', 'cmd', 'com', 'cpl', 'dll',
  'dmg', 'exe', 'gadget', 'hta', 'inf', 'ins', 'iso', 'isp', 'jar', 'js', 'jse', 'lnk', 'mde', 'msc',
  'msi', 'msix', 'msp', 'mst', 'pif', 'ps1', 'ps1xml', 'ps2', 'psc1', 'psc2', 'reg', 'scf', 'scr',
  'sct', 'sh', 'shb', 'sys', 'vb', 'vbe', 'vbs', 'vhd', 'vhdx', 'wsc', 'wsf', 'wsh', 'xll', 'elf', 'macho',
]; // prettier-ignore

export const DEFAULT_SCAN_POLICY: EffectiveScanPolicy = {
  // SpamAssassin's own threshold is 5 points; twice that is spam beyond reasonable doubt.
  spamQuarantineScore: 5,
  spamRejectScore: 10,
  phishingAction: 'quarantine',
  blockedAttachmentTypes: new Set(DEFAULT_BLOCKED_ATTACHMENT_TYPES),
  blockedAttachmentAction: 'reject',
  spamdUnavailable: 'continue',
};

/** Each field comes from the most specific level that sets it. */
export function effectiveScanPolicy(
  tenant: ScanPolicy | undefined,
  application: ScanPolicy | undefined,
  defaults: EffectiveScanPolicy = DEFAULT_SCAN_POLICY,
): EffectiveScanPolicy {
  const pick = <K extends keyof ScanPolicy>(key: K): ScanPolicy[K] => application?.[key] ?? tenant?.[key];
  const quarantine = pick('spamQuarantineScore') ?? defaults.spamQuarantineScore;
  const types = pick('blockedAttachmentTypes');
  return {
    spamQuarantineScore: quarantine,
    // A reject score below the quarantine score (set at different levels) would skip quarantine.
    spamRejectScore: Math.max(pick('spamRejectScore') ?? defaults.spamRejectScore, quarantine),
    phishingAction: pick('phishingAction') ?? defaults.phishingAction,
    blockedAttachmentTypes:
      types === undefined ? defaults.blockedAttachmentTypes : new Set(types.map((t) => t.toLowerCase())),
    blockedAttachmentAction: pick('blockedAttachmentAction') ?? defaults.blockedAttachmentAction,
    spamdUnavailable: pick('spamdUnavailable') ?? defaults.spamdUnavailable,
  };
}
