-- The simple IMIX (7 x 64, 4 x 594, 1 x 1518 bytes) of allowed flows, for a two-port
-- rig (see README.md). Rate in percent of line rate from RATE (100).
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local rate = tonumber(os.getenv("RATE") or "100")
local dst_mac = os.getenv("DST_MAC") or "02:00:00:00:00:01"
local sizes = {64, 64, 64, 64, 64, 64, 64, 594, 594, 594, 594, 1518}
for slot, size in ipairs(sizes) do
  pktgen.seqTable(slot - 1, "0", {
    eth_dst_addr = dst_mac,
    eth_src_addr = "02:00:00:00:00:02",
    ip_dst_addr = string.format("192.0.2.%d", slot),
    ip_src_addr = string.format("10.0.0.%d/8", slot),
    sport = 10000 + slot,
    dport = 5060,
    ethType = "ipv4",
    ipProto = "udp",
    vlanid = 1,
    pktSize = size,
  })
end
pktgen.set("0", "seq_cnt", #sizes)
pktgen.set("0", "rate", rate)
print("imix: 12-frame sequence (average 353 bytes), rate " .. rate .. "%; `start 0` to send")
