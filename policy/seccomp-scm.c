/* seccomp-scm.c — placeholder, replaced by the scm owner. */
#include "sandbox.h"
static const struct sandbox_rule rules[] = {
	{ "exit_group", SB_ANY, "leave" },
};
const struct sandbox_policy sandbox_policy_scm = { "inkan-scm", rules, sizeof rules / sizeof rules[0] };
