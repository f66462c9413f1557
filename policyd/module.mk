# policyd/module.mk - segtls-policyd, the daemon that holds the settings.
PROGRAMS += segtls-policyd
segtls-policyd_SRCS = policyd/main.c policyd/control.c policyd/ops.c
