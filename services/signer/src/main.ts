import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { signerService } from './index';

void runMain([signerService], () => ['signer']);
