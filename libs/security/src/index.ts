export { hashSecret, verifySecret, decoyVerify } from './password-hash';
export { generateSecret, generateUsername, hashToken, constantTimeEquals } from './tokens';
export { SecretBox, SecretBoxError } from './secret-box';
export type { DirectSealedSecret, EnvelopeSealedSecret, SealedSecret } from './secret-box';
