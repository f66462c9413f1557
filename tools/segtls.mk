# tools/segtls.mk - the segtls command line client.
PROGRAMS += segtls
segtls_SRCS = tools/segtls.c tools/status.c
