/*
 * Modules that only some commands need, loaded when one of them runs: the hub and the MongoDB
 * adapter take most of the CLI's start-up time, which the API client commands do not need.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import type * as Hub from '../main';
import type * as KeyRing from '../secrets/key-ring';
import type * as MongoStore from '../store/mongo/mongo-store';

export const loadHub = (): typeof Hub => require('../main');
export const loadMongoStore = (): typeof MongoStore => require('../store/mongo/mongo-store');
export const loadKeyRing = (): typeof KeyRing => require('../secrets/key-ring');
