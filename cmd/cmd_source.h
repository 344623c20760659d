/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The source-and-plan steps `kipvs plan` and `kipvs run --once` share: fill a cache from --from
 * files or the API server, resolve the node's addresses, build the desired table.
 */
#pragma once

#include <stdbool.h>

struct kube_options;
struct plan_fw;
struct plan_table;

/*
 * Loads the objects as opts says and builds this node's desired table into *ret_table (empty
 * on entry; the caller frees it with plan_table_clear()). The node's addresses are those of
 * the Node object (`plan`), or with kernel_addrs those `run` uses (daemon_node_addrs_input():
 * with --nodeport-addresses, the interfaces'). Skipped and unusable objects are logged
 * (component=plan). Failures are reported on stderr prefixed with who ("kipvs plan").
 * Returns 0 or -errno.
 */
int cmd_source_plan(const struct kube_options *opts, const char *who, bool kernel_addrs,
		    struct plan_table *ret_table) __attribute__((warn_unused_result));

/*
 * cmd_source_plan(), and when ret_fw is not NULL also the packet path's sets (plan_fw_build()
 * on the same cache and table) into *ret_fw (empty on entry; free with plan_fw_clear()).
 */
int cmd_source_plan_fw(const struct kube_options *opts, const char *who, bool kernel_addrs,
		       struct plan_table *ret_table, struct plan_fw *ret_fw)
    __attribute__((warn_unused_result));
