/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kipvs node daemon: one libev loop that keeps this node's IPVS table in step with the
 * cluster (API reflectors or a --from file), serves health and metrics, and talks to systemd.
 * Built as the static library libdaemon so the tests can link it; `kipvs run` calls it.
 */
#pragma once

struct kube_options;

/* Runs until SIGTERM or SIGINT (or a fatal start-up error). Leaves the kernel state in place
 * on exit. Returns the process exit code: 0 after a clean stop, 1 when it could not start
 * (cannot take the IPVS lock, cannot load IPVS, cannot bind the health port, bad source). */
int daemon_run(const struct kube_options *opts);
