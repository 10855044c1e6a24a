import 'reflect-metadata';
import { runMain } from '@ser/runtime';
import { ALL_SERVICES } from './all-services';

/** All-in-one entry point: runs the services named by SER_SERVICES (default: all) in one process. */
void runMain(ALL_SERVICES, (config) => config.SER_SERVICES);
