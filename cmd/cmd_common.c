/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the subcommands' argument handling. */
#include <string.h>

#include "cmd.h"

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}
