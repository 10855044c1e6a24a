import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { egressService } from './index';

void runMain([egressService], () => ['egress']);
