// Every relay process serves its ops endpoint on SER_OPS_PORT (default 9464). Test files run in
// parallel, and some spawn relay processes with the test's environment: a free port for each.
process.env.SER_OPS_PORT ??= '0';
process.env.SER_OPS_BIND ??= '127.0.0.1';
