# tools/sslconfig.mk - sslconfig, the gateway's interactive SSL configuration dialog.
PROGRAMS += sslconfig
sslconfig_SRCS = tools/sslconfig.c tools/dialog.c
