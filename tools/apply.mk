# tools/apply.mk - segtls-apply, which renders, writes, reloads and proves the TLS settings.
PROGRAMS += segtls-apply
segtls-apply_SRCS = tools/segtls-apply.c
