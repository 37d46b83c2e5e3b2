// Owns the public surface of service discovery (`etcd-ts/client`): register, discover, pickers.
export type { InstanceChange } from "./discover.js";
export { Discovery, DiscoveryOverflowError, discover, MAX_DISCOVERY_BUFFER } from "./discover.js";
export type { Instance } from "./instance.js";
export type { Picker } from "./picker.js";
export { random, roundRobin } from "./picker.js";
export type { RegisterOptions } from "./register.js";
export { REREGISTER_BACKOFF_MS, Registration, register } from "./register.js";
