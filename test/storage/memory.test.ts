/** The StorageDriver contract run against the in-memory driver (one fresh instance per test). */
import { MemoryDriver } from '../../src/storage/memory.js';
import { driverContract } from './contract.js';

// No `reopen`: memory content does not outlive its instance, so the contract keeps using the same one.
driverContract('inmemory', async () => ({ driver: new MemoryDriver() }));
