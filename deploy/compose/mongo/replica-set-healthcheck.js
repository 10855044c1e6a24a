/* global rs, db, print, quit -- mongosh shell globals */
// mongosh script run by the mongo service's healthcheck (docker-compose.yml).
// Idempotent: on the first run it initiates the single-node replica set `rs0` (so the relay can
// write with w: "majority"); on every run it exits 0 only once this node is a writable primary.
const REPLICA_SET = 'rs0';
const MEMBER = 'mongo:27017'; // the compose service name: what the relay services resolve

try {
  rs.status();
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') {
    print(`replica set status failed: ${error.message}`);
    quit(1);
  }
  print(`initiating replica set ${REPLICA_SET} with member ${MEMBER}`);
  rs.initiate({ _id: REPLICA_SET, members: [{ _id: 0, host: MEMBER }] });
}

const hello = db.hello();
if (hello.setName !== REPLICA_SET || !hello.isWritablePrimary) {
  print(`not ready: setName=${hello.setName} isWritablePrimary=${hello.isWritablePrimary}`);
  quit(1);
}
quit(0);
