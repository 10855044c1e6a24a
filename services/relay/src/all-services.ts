import type { ServiceDefinition } from '@ser/runtime';
import { adminService } from '@ser/service-admin';
import { egressService } from '@ser/service-egress';
import { ingressService } from '@ser/service-ingress';
import { reportingService } from '@ser/service-reporting';
import { scannerService } from '@ser/service-scanner';
import { signerService } from '@ser/service-signer';

/**
 * Every service, in start order: consumers of the pipeline first, the front door (ingress) and the
 * API last, so nothing is accepted before something can process it. Stop order is the reverse.
 */
export const ALL_SERVICES: readonly ServiceDefinition[] = [
  reportingService,
  egressService,
  signerService,
  scannerService,
  ingressService,
  adminService,
];
