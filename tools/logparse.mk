# tools/logparse.mk - segtls-logparse, the offline Postfix log parser.
PROGRAMS += segtls-logparse
segtls-logparse_SRCS := tools/logparse.c
segtls-logparse_LIBS := -lz
