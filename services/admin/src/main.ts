import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { adminService } from './index';

void runMain([adminService], () => ['admin']);
