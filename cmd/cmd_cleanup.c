/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs cleanup: removes what kipvs created in this network namespace, as its state file
 * records it -- virtual servers, the addresses it bound that no foreign service uses, the dummy
 * interface if it created it, its nftables table -- and nothing else. Refuses while a kipvs
 * runs here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "cmd.h"
#include "fw.h"
#include "ipvs.h"
#include "kube_options.h"
#include "log.h"

static void cleanup_usage(FILE *stream)
{
	fprintf(
	    stream,
	    "Usage: kipvs cleanup [OPTIONS]\n"
	    "\n"
	    "Removes every IPVS virtual server, address and interface kipvs created in this\n"
	    "network namespace (as recorded in " IPVS_NODE_STATE_DIR "), and nothing else:\n"
	    "an address a foreign service still uses stays bound, and the dummy interface goes\n"
	    "only if kipvs created it and nothing is left on it. kipvs's nftables table\n"
	    "(inet " FW_TABLE_DEFAULT ") goes too. Takes run's options; it uses\n"
	    "--dummy-interface, --ipvs-exclude-cidrs, --config and -v.\n"
	    "\n"
	    "Exit status: 0 success, 1 failure (a kipvs is running here, not root, ...),\n"
	    "2 usage error or invalid value.\n");
}

int cmd_cleanup_main(int argc, char **argv)
{
	_cleanup_(kube_options_clear) struct kube_options o = {0};
	struct ipvs_node_result res = {0};
	char err[512] = "";
	int r;

	r = cmd_options_begin(argc, argv, KUBE_OPTIONS_CMD_CLEANUP, "cleanup", cleanup_usage, &o);
	if (r != CMD_CONTINUE)
		return r;

	const struct ipvs_node_config cfg = {
	    .proc_root = "/proc",
	    .state_dir = IPVS_NODE_STATE_DIR,
	    .dummy_ifname = o.dummy_interface,
	    .exclude_cidrs = o.exclude_cidrs,
	    .n_exclude_cidrs = o.n_exclude_cidrs,
	};
	r = ipvs_node_cleanup(&cfg, &res, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipvs cleanup: %s\n", err);
		return EXIT_RUNTIME;
	}
	/* The packet-path table: kipvs owns all of it and nothing else (ipvs/fw.h). */
	r = fw_table_remove(NULL, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "kipvs cleanup: nftables table inet %s: %s\n", FW_TABLE_DEFAULT,
			err);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "cleanup: services -%u, addresses -%u, nftables tables -%d\n",
		res.sync.services_deleted, res.addresses_deleted, r);
	return EXIT_OK;
}
