import { dkimKeyAad, isDuplicateKeyError, newId } from '@ser/data';
import type { AuditRepository, DkimKeyDocument, TenantConfigRepository } from '@ser/data';
import { SecretBoxError } from '@ser/security';
import type { SecretBox } from '@ser/security';
import { orNotFound, problems } from '../http/problem';
import { DkimKeyImportError, importDkimKey } from './dkim-key-import';
import { generateDkimKey, newSelector } from './dkim-key-material';
import type { DkimKeyMaterial } from './dkim-key-material';
import type { DkimRecordCheck } from './dkim-record-check';
import { dkimKeyView } from './dkim-key.view';
import type { DkimKeyView } from './dkim-key.view';
import type { CreateDkimKeyInput } from './tenant-admin.schemas';

/** A DNS name is at most 253 characters (RFC 1035 §2.3.4), `<selector>._domainkey.<domain>` included. */
const MAX_DNS_NAME = 253;

export type CreatedDkimKeyView = DkimKeyView & { warnings?: string[] };
export type DecidedDkimKeyView = DkimKeyView & { forced: boolean };

export interface RewrapResult {
  /** The master key every re-wrapped key is now under. */
  keyId: string;
  rewrapped: number;
  /** Keys no configured master key opens; they stay as they were. */
  failed: { id: string; keyId: string; reason: string }[];
}

/**
 * The DKIM key lifecycle: generated or imported `pending`, `active` once its record is published,
 * `retired` for good. A domain may have several active keys during a rotation (the signer uses the
 * newest); retiring the last one needs `force`, so mail never goes unsigned by accident.
 */
export class DkimKeyService {
  constructor(
    private readonly repo: TenantConfigRepository,
    private readonly box: SecretBox,
    private readonly audit: AuditRepository,
    private readonly records: DkimRecordCheck,
  ) {}

  async create(domainId: string, input: CreateDkimKeyInput, actor: string): Promise<CreatedDkimKeyView> {
    const domain = orNotFound(await this.repo.findDomainById(domainId), 'domain');
    const selector = input.selector ?? newSelector();
    if (`${selector}._domainkey.${domain.name}`.length > MAX_DNS_NAME) {
      throw problems.invalid([
        {
          path: 'selector',
          message: `too long for ${domain.name}: the record name would exceed 253 characters`,
        },
      ]);
    }
    const { material, warnings } = this.material(input);
    const id = newId('dk');
    const key: DkimKeyDocument = {
      _id: id,
      tenantId: domain.tenantId,
      domainId,
      domain: domain.name,
      selector,
      algorithm: input.algorithm,
      publicKey: material.publicKey,
      privateKey: this.box.seal(material.privateKeyPem, dkimKeyAad(id)),
      status: 'pending',
      ...(material.bits === undefined ? {} : { bits: material.bits }),
      origin: input.privateKeyPem === undefined ? 'generated' : 'imported',
      createdAt: new Date(),
    };
    try {
      await this.repo.dkimKeys.insertOne(key);
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw problems.conflict(`selector ${key.selector} already exists for ${domain.name}`);
      }
      throw error;
    }
    await this.record(key, key.origin === 'imported' ? 'import' : 'create', actor, {
      ...(warnings.length > 0 ? { warnings } : {}),
    });
    return { ...dkimKeyView(key), ...(warnings.length > 0 ? { warnings } : {}) };
  }

  async list(domainId: string): Promise<DkimKeyView[]> {
    const domain = orNotFound(await this.repo.findDomainById(domainId), 'domain');
    const keys = await this.repo.dkimKeys
      .find({ tenantId: domain.tenantId, domainId }, { projection: { privateKey: 0 } })
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
    return keys.map(dkimKeyView);
  }

  /** Activates a key once its TXT record is published and matches, or when forced by an operator. */
  async activate(keyId: string, force: boolean, actor: string): Promise<DecidedDkimKeyView> {
    const key = await this.find(keyId);
    if (key.status === 'retired') {
      throw problems.conflict('a retired key cannot be activated again');
    }
    if (key.status === 'active') {
      // Activating again would make an older key the newest one the signer picks.
      return { ...dkimKeyView(key), forced: false };
    }
    if (!force) {
      await this.records.verify(key);
    }
    const activatedAt = new Date();
    await this.move(key, { status: 'active', activatedAt });
    await this.record(key, 'activate', actor, { forced: force });
    return { ...dkimKeyView({ ...key, status: 'active', activatedAt }), forced: force };
  }

  /** Retires a key for good; the domain's only active key needs `force`. */
  async retire(keyId: string, force: boolean, actor: string): Promise<DecidedDkimKeyView> {
    const key = await this.find(keyId);
    if (key.status === 'retired') {
      throw problems.conflict('the key is already retired');
    }
    const lastActive = key.status === 'active' && (await this.otherActiveKeys(key)) === 0;
    if (lastActive && !force) {
      throw problems.conflict(
        `this is the only active key of ${key.domain}: without it, mail from the domain is held or sent unsigned. ` +
          'Activate its successor first, or retire it with "force": true',
      );
    }
    const retiredAt = new Date();
    await this.move(key, { status: 'retired', retiredAt });
    await this.record(key, 'retire', actor, { forced: force, previousStatus: key.status, lastActive });
    return { ...dkimKeyView({ ...key, status: 'retired', retiredAt }), forced: force };
  }

  /**
   * Re-wraps every private key not yet under the current master key (envelope data keys are
   * re-wrapped, first-format secrets sealed again). Run after moving the old key to
   * `SER_MASTER_KEY_PREVIOUS`; once `failed` is empty, the old key can go.
   */
  async rewrap(actor: string): Promise<RewrapResult> {
    const result: RewrapResult = { keyId: this.box.keyId, rewrapped: 0, failed: [] };
    const stale = this.repo.dkimKeys.find(
      {
        $or: [{ 'privateKey.keyId': { $ne: this.box.keyId } }, { 'privateKey.alg': { $ne: 'A256GCM-ENV' } }],
      },
      { projection: { _id: 1, privateKey: 1 } },
    );
    for await (const { _id: id, privateKey } of stale) {
      let resealed;
      try {
        resealed = this.box.reseal(privateKey, dkimKeyAad(id));
      } catch (error) {
        if (!(error instanceof SecretBoxError)) {
          throw error;
        }
        result.failed.push({ id, keyId: privateKey.keyId, reason: error.message });
        continue;
      }
      // Conditional on what was read, so a concurrent rewrap cannot overwrite a newer value.
      const updated = await this.repo.dkimKeys.updateOne(
        { _id: id, 'privateKey.keyId': privateKey.keyId, 'privateKey.alg': privateKey.alg },
        { $set: { privateKey: resealed } },
      );
      result.rewrapped += updated.modifiedCount;
    }
    await this.audit.record({
      actor,
      action: 'dkim_key.rewrap',
      target: { type: 'master_key', id: this.box.keyId },
      details: { rewrapped: result.rewrapped, failed: result.failed.map((f) => f.id) },
    });
    return result;
  }

  private material(input: CreateDkimKeyInput): { material: DkimKeyMaterial; warnings: string[] } {
    if (input.privateKeyPem === undefined) {
      return { material: generateDkimKey(input.algorithm, input.bits), warnings: [] };
    }
    try {
      const { warnings, ...material } = importDkimKey(input.algorithm, input.privateKeyPem);
      return { material, warnings };
    } catch (error) {
      if (error instanceof DkimKeyImportError) {
        throw problems.unprocessable(error.message);
      }
      throw error;
    }
  }

  private otherActiveKeys(key: DkimKeyDocument): Promise<number> {
    return this.repo.dkimKeys.countDocuments({
      tenantId: key.tenantId,
      domainId: key.domainId,
      status: 'active',
      _id: { $ne: key._id },
    });
  }

  /** A conditional move from the state the decision was taken on: a concurrent change is a 409. */
  private async move(key: DkimKeyDocument, set: Partial<DkimKeyDocument>): Promise<void> {
    const updated = await this.repo.dkimKeys.updateOne({ _id: key._id, status: key.status }, { $set: set });
    if (updated.modifiedCount === 0) {
      throw problems.conflict(`the key changed while this request ran; it is no longer ${key.status}`);
    }
  }

  private async find(keyId: string): Promise<DkimKeyDocument> {
    return orNotFound(await this.repo.findDkimKeyById(keyId), 'DKIM key');
  }

  private async record(
    key: DkimKeyDocument,
    verb: 'create' | 'import' | 'activate' | 'retire',
    actor: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.record({
      actor,
      action: `dkim_key.${verb}`,
      tenantId: key.tenantId,
      target: { type: 'dkim_key', id: key._id },
      details: {
        domain: key.domain,
        selector: key.selector,
        algorithm: key.algorithm,
        ...(key.bits === undefined ? {} : { bits: key.bits }),
        ...details,
      },
    });
  }
}
