/** @module types/better-sqlite3-napi — the Node-API build of better-sqlite3 (13.x), same API. */
declare module 'better-sqlite3-napi' {
  import Database from 'better-sqlite3';
  export default Database;
}
