# tools/tlsverify.mk - segtls-tlsverify, the per-version TLS probe (SPEC section 8).
PROGRAMS += segtls-tlsverify
segtls-tlsverify_SRCS = tools/tlsverify.c
