/* seccomp-sam.c — placeholder, replaced by the sam owner. */
#include "sandbox.h"
static const struct sandbox_rule rules[] = {
	{ "exit_group", SB_ANY, "leave" },
};
const struct sandbox_policy sandbox_policy_sam = { "inkan-sam", rules, sizeof rules / sizeof rules[0] };
