// Owns the public surface of the recipes (`etcd-ts/client`): queues, barriers, readers-writer lock.
export { Barrier, DoubleBarrier, TooManyClientsError } from "./barrier.js";
export { MAX_PRIORITY, PriorityQueue } from "./priority_queue.js";
export { MAX_CLAIM_ATTEMPTS, Queue } from "./queue.js";
export { RWMutex } from "./rwmutex.js";
