-- steps.lua - the protocol segtls-milter negotiates (milter/steps.c), on a
-- TCP socket: only the stages that make records, MAIL and RCPT without a
-- reply, connect, DATA (TCP: its reply carries the ACK) and
-- end-of-message with one. No connect is sent: no records.
-- Run: MILTER=inet:PORT@127.0.0.1 miltertest -s steps.lua

local conn = mt.connect(os.getenv("MILTER"), 20, 0.1)
if conn == nil then error("cannot connect") end

-- want - fail unless option opt was negotiated (on) or not (off)
local function want(name, opt, on)
   if mt.test_option(conn, opt) ~= on then
      error(name .. (on and " not negotiated" or " negotiated"))
   end
end

want("SMFIP_NOHELO", SMFIP_NOHELO, true)
want("SMFIP_NOHDRS", SMFIP_NOHDRS, true)
want("SMFIP_NOEOH", SMFIP_NOEOH, true)
want("SMFIP_NOBODY", SMFIP_NOBODY, true)
want("SMFIP_NOUNKNOWN", SMFIP_NOUNKNOWN, true)
want("SMFIP_NOCONNECT", SMFIP_NOCONNECT, false)
want("SMFIP_NOMAIL", SMFIP_NOMAIL, false)
want("SMFIP_NORCPT", SMFIP_NORCPT, false)
want("SMFIP_NODATA", SMFIP_NODATA, false)
want("SMFIP_NR_MAIL", SMFIP_NR_MAIL, true)
want("SMFIP_NR_RCPT", SMFIP_NR_RCPT, true)
want("SMFIP_NR_CONN", SMFIP_NR_CONN, false)
want("SMFIP_NR_DATA", SMFIP_NR_DATA, false)
mt.disconnect(conn)
