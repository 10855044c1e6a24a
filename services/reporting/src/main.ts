import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { reportingService } from './index';

void runMain([reportingService], () => ['reporting']);
