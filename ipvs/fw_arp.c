/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Strict ARP (ipvs/fw.h): with VIPs on a dummy interface, the node would answer ARP for every
 * VIP on every interface; arp_ignore=1 and arp_announce=2 stop that, which MetalLB-style L2
 * announcements need. Read first, written only when different (ipvs_sysctl_ensure()), never
 * reverted.
 */
#include "fw.h"

#include "cleanup.h"
#include "ipvs_internal.h"

int fw_strict_arp_apply(const char *proc_root, bool enable)
{
	static const struct ipvs_sysctl want[] = {
	    {"net/ipv4/conf/all/arp_ignore", 1},
	    {"net/ipv4/conf/all/arp_announce", 2},
	};
	int changed = 0, first_err = 0;

	if (!enable)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		int r = ipvs_sysctl_ensure(proc_root, want[i].name, want[i].value, "fw",
					   "strict ARP sysctl set");

		if (r < 0) {
			if (!first_err)
				first_err = r;
			continue;
		}
		changed += r;
	}
	return first_err ? first_err : changed;
}
