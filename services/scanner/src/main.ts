import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { scannerService } from './index';

void runMain([scannerService], () => ['scanner']);
