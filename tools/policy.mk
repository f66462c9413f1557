# tools/policy.mk - segtls-policy, the Postfix policy service of the sender groups.
PROGRAMS += segtls-policy
segtls-policy_SRCS = tools/segtls-policy.c
