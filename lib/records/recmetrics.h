/*
 * recmetrics - the metrics of a record writer (lib/util/metrics.h).
 *
 * seg_recmetrics_attach taps a record file: every record written or lost
 * is counted (segtls_records_written_total, segtls_records_lost_total
 * {log, reason="write"}), and every TLS outcome record is a session
 * (segtls_tls_sessions_total{service, direction, protocol, cipher_class,
 * result}): "ICID n TLS success/failed/...", "DCID n TLS ...", "GUI
 * HTTPS TLS success", "SSL error with client". seg_recmetrics_push adds
 * a syslog push's counters (segtls_syslog_records_total{destination,
 * result="sent"|"dropped"}, segtls_syslog_queued).
 */
#ifndef SEGTLS_RECMETRICS_H
#define SEGTLS_RECMETRICS_H

#include "record.h"
#include "syslogpush.h"

/* seg_recmetrics_attach - count the records of r as log ("mail_logs", "gui_logs") */
void    seg_recmetrics_attach(seg_record *r, const char *log);
/* seg_recmetrics_push - export a syslog push's counters */
void    seg_recmetrics_push(seg_syslogpush *p);
/* seg_recmetrics_cipher_class - "aead", "cbc" or "none" of a cipher name */
const char *seg_recmetrics_cipher_class(const char *cipher, size_t len);

#endif
