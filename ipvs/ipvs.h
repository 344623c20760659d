/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipvs/: the only code that touches the kernel's IPVS table. Public interface.
 */
#pragma once

#include <stdbool.h>

/* True when the running kernel has IPVS: <proc_root>/net/ip_vs exists ("/proc" normally). */
bool ipvs_probe_is_loaded(const char *proc_root);

/* Parses "major.minor[.patch][-extra]" as uname -r prints it. 0 or -EINVAL. */
int ipvs_kernel_version_parse(const char *release, int *ret_major, int *ret_minor)
	__attribute__((warn_unused_result));

/*
 * The value net.ipv4.vs.conn_reuse_mode must have on a kernel of this version, or -1 to leave
 * it alone. Kernels 4.1 to 5.8 need 0: with 1 they drop the first SYN of a reused source port
 * for a second (kube-proxy #70747, #81775). 5.9 fixed that, and before 4.1 the knob is absent.
 */
int ipvs_conn_reuse_mode_wanted(int major, int minor);
