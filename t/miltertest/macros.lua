-- macros.lua - segtls-milter with missing, empty, huge and malformed macros.
-- Run: MILTER=inet:PORT@127.0.0.1 miltertest -s macros.lua
-- Every reply must be "continue" (or "accept" at end of message): the
-- milter never rejects because of what it was given; t/milter.t compares
-- the records it wrote with t/data/milter/macros.ref.

local sock = os.getenv("MILTER")

-- expect - fail the script unless the last reply is one of the wanted ones
local function expect(conn, step, a, b)
   local r = mt.getreply(conn)
   if r ~= a and r ~= b then
      error(step .. ": unexpected reply " .. tostring(r))
   end
end

-- session - one SMTP connection with the given macros at each stage
local function session(name, host, ip, m)
   local conn = mt.connect(sock, 20, 0.1)
   if conn == nil then error(name .. ": cannot connect to " .. sock) end
   if m.connect then mt.macro(conn, SMFIC_CONNECT, table.unpack(m.connect)) end
   if mt.conninfo(conn, host, ip) ~= nil then error(name .. ": conninfo") end
   expect(conn, name .. " connect", SMFIR_CONTINUE)
   -- HELO's macros; the HELO itself only to a milter that did not decline
   -- it (segtls-milter does: Postfix then sends the macros alone)
   if m.helo then mt.macro(conn, SMFIC_HELO, table.unpack(m.helo)) end
   if not mt.test_option(conn, SMFIP_NOHELO) then
      if mt.helo(conn, "client.test") ~= nil then error(name .. ": helo") end
      expect(conn, name .. " helo", SMFIR_CONTINUE)
   end
   if m.mail then mt.macro(conn, SMFIC_MAIL, table.unpack(m.mail)) end
   if mt.mailfrom(conn, m.from or "<a@example.org>") ~= nil then error(name .. ": mail") end
   expect(conn, name .. " mail", SMFIR_CONTINUE)
   if m.rcpt then mt.macro(conn, SMFIC_RCPT, table.unpack(m.rcpt)) end
   if mt.rcptto(conn, m.to or "<b@example.net>") ~= nil then error(name .. ": rcpt") end
   expect(conn, name .. " rcpt", SMFIR_CONTINUE)
   if mt.eom(conn) ~= nil then error(name .. ": eom") end
   expect(conn, name .. " eom", SMFIR_ACCEPT, SMFIR_CONTINUE)
   mt.disconnect(conn)
end

-- no macros at all
session("missing", "host.example", "192.0.2.1", {})

-- every macro present but empty
session("empty", "[192.0.2.2]", "192.0.2.2", {
   connect = {"{daemon_name}", "", "{daemon_addr}", "", "v", "", "{client_ptr}", "",
              "{client_resolve}", "", "{client_name}", ""},
   helo = {"{tls_version}", "", "{cipher}", ""},
   rcpt = {"i", ""},
})

-- huge values, cut in the records (miltertest sends at most ~1000 bytes
-- per macro packet; the records keep 255 bytes of a value)
local huge = string.rep("x", 480)
session("huge", "[192.0.2.3]", "192.0.2.3", {
   connect = {"{daemon_name}", huge, "v", "Postfix smtpd-pid=" .. string.rep("9", 300)},
   helo = {"{tls_version}", huge, "{cipher}", huge},
   from = "<" .. string.rep("f", 900) .. "@example.org>",
   rcpt = {"i", string.rep("Q", 900)},
})

-- malformed: blanks, control characters, record injection, bad pid
session("malformed", "ptr.example", "192.0.2.4", {
   connect = {"{daemon_name}", "bad name\r\nInjected: x", "{daemon_addr}", "1.2.3.4\t5",
              "v", "Postfix smtpd-pid=-5", "{client_ptr}", "ptr\tname", "{client_resolve}", "OK"},
   helo = {"{tls_version}", "TLSv1.3\nICID 99 close", "{cipher}", "A B"},
   from = "<evil\nline@example.org>",
   to = "no-brackets@example.net",
   rcpt = {"i", "../../etc/passwd"},
})
