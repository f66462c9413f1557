-- sequence.lua - segtls-milter with unusual but legal protocol sequences:
-- an unknown address family (address from {client_addr}), IPv6, two
-- messages on one connection with an abort (RSET) between, a message
-- aborted after RCPT, and a connection that ends before MAIL.
-- Run: MILTER=inet:PORT@127.0.0.1 miltertest -s sequence.lua

local sock = os.getenv("MILTER")

-- check - fail the script unless a step worked and was answered "continue"
local function check(conn, step, err, accept)
   if err ~= nil then error(step .. ": " .. err) end
   local r = mt.getreply(conn)
   if r ~= SMFIR_CONTINUE and not (accept and r == SMFIR_ACCEPT) then
      error(step .. ": unexpected reply " .. tostring(r))
   end
end

-- helo - HELO's macros, and the HELO itself only to a milter that did not
-- decline it (segtls-milter does: Postfix then sends the macros alone)
local function helo(conn, macros)
   if macros then mt.macro(conn, SMFIC_HELO, table.unpack(macros)) end
   if not mt.test_option(conn, SMFIP_NOHELO) then
      check(conn, "helo", mt.helo(conn, "client.test"))
   end
end

-- open - a connection with its connect macros
local function open(host, ip, macros)
   local conn = mt.connect(sock, 20, 0.1)
   if conn == nil then error("cannot connect to " .. sock) end
   if macros then mt.macro(conn, SMFIC_CONNECT, table.unpack(macros)) end
   check(conn, "connect " .. ip, mt.conninfo(conn, host, ip))
   return conn
end

-- unknown address family: the address comes from the macros
local c = open("[unix]", "unspec", {"{client_addr}", "198.51.100.7", "{client_port}", "4711",
                                     "v", "Postfix 3.7.11 smtpd-pid=4242",
                                     "{daemon_name}", "mta.test.local", "{daemon_addr}", "198.51.100.1"})
helo(c, nil)
mt.disconnect(c)

-- IPv6, two messages, the first one aborted after RCPT
c = open("v6.example", "2001:db8::25", {"{client_ptr}", "v6.example", "{client_resolve}", "FAIL",
                                         "{client_name}", "unknown"})
helo(c, {"{tls_version}", "TLSv1.2", "{cipher}", "ECDHE-RSA-AES256-GCM-SHA384"})
check(c, "mail 1", mt.mailfrom(c, "<one@example.org>"))
check(c, "rcpt 1", mt.rcptto(c, "<x@example.net>"))
check(c, "abort", mt.abort(c))
-- the TLS record is written once per connection
mt.macro(c, SMFIC_MAIL, "{tls_version}", "TLSv1.2", "{cipher}", "ECDHE-RSA-AES256-GCM-SHA384")
check(c, "mail 2", mt.mailfrom(c, "<>"))
mt.macro(c, SMFIC_RCPT, "i", "4Xb2Kq1lTzz9")
check(c, "rcpt 2a", mt.rcptto(c, "<y@example.net>"))
check(c, "rcpt 2b", mt.rcptto(c, "<Z@Example.NET>"))
check(c, "eom", mt.eom(c), true)
mt.disconnect(c)

-- a connection that ends before MAIL, abruptly
c = open("gone.example", "192.0.2.9", nil)
mt.disconnect(c, false)
