//! hale's integration tests: one binary, one module per area, each starting
//! hale on ephemeral loopback ports and talking to it over real sockets.
// The interop test prints its comparison table for `--nocapture` readers.
#![allow(clippy::print_stdout)]

// Harness: in-process hale, DNS client, fake HTTP backends, polling helpers.
mod support;

// Answers for names that are not health-checked, rule by rule, as NSD gives them.
mod dns_rules;
// Addresses leaving and returning as backends fail and recover; all-down policies.
mod failover;
// Reloading config and zones: new data, rejected bad versions, kept health state.
mod reload;
// Config and zone errors name the file and line.
mod errors;
// The compiled `hale` binary: check, serve, SIGHUP, SIGTERM, exit codes.
mod binary;
// hale and NSD answer the same zone identically.
mod nsd_interop;
// A corpus of zone files, one theme each: hale reads and serves them as NSD does.
mod nsd_corpus;
// Knot DNS as a secondary of hale, following health by NOTIFY and IXFR (issue #17).
mod knot_secondary;
// DNS over TCP under pressure: connection cap, idle and message deadlines.
mod tcp;
// Response rate limiting per client prefix.
mod rrl;
// DNS Cookies: server cookies, rotation, RRL exemption, dig and kdig.
mod cookies;
// The mass-failure guard and its canary.
mod mass_failure;
// Hostile backends, one probe in flight, flapping.
mod hostile;
// Zone transfers to allowed clients.
mod transfer;
// TSIG: signed transfers, queries and NOTIFYs; refusals with the TSIG error.
mod tsig;
// Wildcard and dual-stack listen addresses.
mod listen;
// Malformed and hostile packets over UDP and TCP, one table row each.
mod wire;
// Hostile zone files at start-up and on reload: rejected with file and line, or served right.
mod zone_hardening;
// Steering: first verdicts, reload probation, drain / force-up / clear through `hale ctl`.
mod steering;
// tcp probes, several probes per address with `require`, `probe_address`.
mod probe_kinds;
// Metrics that move, fail-open in /status, the JSON log, the status page.
mod visibility;
// Answer policies: tiers, min_healthy, weights, max_answers.
mod policies;
