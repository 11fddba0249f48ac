/* seccomp-sic.c — placeholder, replaced by the sic owner. */
#include "sandbox.h"
static const struct sandbox_rule rules[] = {
	{ "exit_group", SB_ANY, "leave" },
};
const struct sandbox_policy sandbox_policy_sic = { "inkan-sic", rules, sizeof rules / sizeof rules[0] };
