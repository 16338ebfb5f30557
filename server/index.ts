/** A FUSE server in TypeScript on top of the generated codecs: mount, request loop, typed handlers. */
export * from "./errno.js";
export * from "./handlers.js";
export * from "./protocol.js";
export * from "./session.js";
export * from "./transport.js";
export * from "./poll-transport.js";
export * from "./mount.js";
