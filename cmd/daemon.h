/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kipvs node daemon: one libev loop that keeps this node's IPVS table in step with the
 * cluster (API reflectors or a --from file), serves health and metrics, and talks to systemd.
 * Built as the static library libdaemon so the tests can link it; `kipvs run` calls it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct ipvs_node_result;
struct kube_node;
struct kube_options;
struct net_addr;
struct plan_node_addrs_input;
struct plan_fw;
struct plan_table;

/* Runs until SIGTERM or SIGINT (or a fatal start-up error). Leaves the kernel state in place
 * on exit. Returns the process exit code: 0 after a clean stop, 1 when it could not start
 * (cannot take the IPVS lock, cannot load IPVS, cannot bind the health port, bad source), 2
 * when the kernel has no such scheduler (ipvs_node_open()'s -ENOPKG). */
int daemon_run(const struct kube_options *opts);

/*
 * `kipvs run --once`: one sync through the daemon's own kernel side (daemon_kernel_ipvs): open
 * it as the daemon does (IPVS, the nftables packet path, fw_start_checks()), one sync
 * (fw_node_sync(): set elements added before IPVS, removed after), then close it, leaving the
 * kernel state in place. fw_desired is plan_fw_build() of desired. Returns 0 with *ret_matches
 * true when no operation failed (a failed nftables element phase counts as one) and the IPVS
 * table matches desired; -errno with one sentence in err when the kernel side cannot be opened
 * or the sync failed (a failed nftables base table leaves IPVS unsynced).
 */
int daemon_sync_once(const struct kube_options *opts, const struct plan_table *desired,
		     const struct plan_fw *fw_desired, struct ipvs_node_result *ret_result,
		     bool *ret_matches, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/*
 * This node's addresses as `kipvs run` sees them, for plan_node_addrs_resolve(): the options
 * and node (NULL when not found), plus, with --nodeport-addresses and no --node-ip, the
 * kernel's interface addresses (all but loopback, IPv6 link-local and the dummy interface's).
 * Those are a malloc'd array in *ret_if_addrs (NULL when none), which *ret_in points to: the
 * caller frees it with free() once done with *ret_in. 0, or -errno when the interfaces cannot
 * be read.
 */
int daemon_node_addrs_input(const struct kube_options *opts, const struct kube_node *node,
			    struct plan_node_addrs_input *ret_in, struct net_addr **ret_if_addrs)
    __attribute__((warn_unused_result));
