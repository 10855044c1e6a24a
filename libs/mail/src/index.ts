export { headerBlockEnd, parseHeaderBlock, headerValues } from './headers';
export type { HeaderField } from './headers';
export { parseMailboxList, domainOf, isDeliverableAddress } from './addresses';
export { decodeEncodedWords, normaliseSubject, senderKeys, subjectHash } from './search-keys';
