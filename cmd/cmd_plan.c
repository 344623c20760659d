/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kipvs plan: not built yet. It says so plainly and fails, rather than pretending to work;
 * see the open issues for the plan.
 */
#include <stdio.h>

#include "cmd.h"

int cmd_plan_main(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		printf("Usage: kipvs plan [OPTIONS]\n\nPrints the IPVS table this node should have, as ipvsadm -Sn lines.\n\nNot implemented yet.\n");
		return EXIT_OK;
	}
	fprintf(stderr, "kipvs plan: not implemented yet\n");
	return EXIT_RUNTIME;
}
