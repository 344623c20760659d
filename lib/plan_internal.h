/* SPDX-License-Identifier: Apache-2.0 */
/* What lib/plan.c and lib/plan_merge.c share and nothing else uses. */
#pragma once

#include "plan.h"

/* Tells in->note that loser's claim on its key lost to winner's. */
void plan_note_conflict(const struct plan_input *in, const struct plan_vs *loser,
			const struct plan_vs *winner);
