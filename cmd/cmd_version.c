/* SPDX-License-Identifier: Apache-2.0 */
/* kipvs version: the release, and the library versions it was built against. */
#include <stdio.h>

#include "cmd.h"

int cmd_version_main(int argc, char **argv)
{
	if (cmd_wants_help(argc, argv)) {
		printf("Usage: kipvs version\n\nPrints the kipvs version.\n");
		return EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr, "kipvs version: takes no arguments\n");
		return EXIT_USAGE;
	}
	printf("kipvs %s\n", KIPVS_VERSION);
	return EXIT_OK;
}
