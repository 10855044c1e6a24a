import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { ingressService } from './index';

void runMain([ingressService], () => ['ingress']);
