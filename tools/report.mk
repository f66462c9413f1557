# tools/report.mk - segtls-report, the TLS Connections report (segtls report).
PROGRAMS += segtls-report
segtls-report_SRCS := tools/report.c
segtls-report_LIBS := -lz -lpsl
